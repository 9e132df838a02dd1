import json
import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from executions.audit.chain import audit_chain_verify, export_verify
from executions.models import AuditEvent


class Command(BaseCommand):
    help = ("Verify the audit chain: exit 0 when intact, non-zero naming the first bad event. "
            "With --file, verify a JSON export instead (needs the same AUDIT_CHAIN_KEY). "
            "With --head, also prove nothing was cut off the end: give a chain head from the application log.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", type=Path, help="a JSON export from /audit/export.json")
        parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                            help="processes that check hashes in parallel (default: one per CPU)")
        parser.add_argument("--head", metavar="HASH",
                            help="a chain head recorded outside the database (the audit_chain_head field of the "
                                 "application log): it must still be in the chain. Links only show events removed "
                                 "in the middle; this shows events removed from the end.")

    def handle(self, *args: object, **options: object) -> None:
        head = (options["head"] or "").strip().lower() or None
        if options["file"]:
            try:
                rows = json.loads(Path(options["file"]).read_text())
            except (OSError, ValueError) as exc:
                raise CommandError(f"cannot read {options['file']}: {exc}") from None
            report = export_verify(rows)
            head_found = head is None or any(isinstance(r, dict) and r.get("hash") == head for r in rows)
        else:
            report = audit_chain_verify(workers=max(1, options["workers"]))
            head_found = head is None or AuditEvent.objects.filter(hash=head).exists()
        if not report.ok:
            raise CommandError(f"audit chain broken at event {report.first_bad_id}: {report.problem} "
                               f"({report.checked} events verified before it)")
        if not head_found:
            raise CommandError(f"audit chain head {head} is not in the chain: events after it were removed "
                               f"({report.checked} events verified, last head {report.head})")
        self.stdout.write(self.style.SUCCESS(f"audit chain intact: {report.checked} events, head {report.head}"))
