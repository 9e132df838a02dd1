import json
import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from executions.services.audit import audit_chain_verify, export_verify


class Command(BaseCommand):
    help = ("Verify the audit chain: exit 0 when intact, non-zero naming the first bad event. "
            "With --file, verify a JSON export instead (needs the same AUDIT_CHAIN_KEY).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", type=Path, help="a JSON export from /audit/export.json")
        parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                            help="processes that check hashes in parallel (default: one per CPU)")

    def handle(self, *args: object, **options: object) -> None:
        if options["file"]:
            try:
                rows = json.loads(Path(options["file"]).read_text())
            except (OSError, ValueError) as exc:
                raise CommandError(f"cannot read {options['file']}: {exc}") from None
            report = export_verify(rows)
        else:
            report = audit_chain_verify(workers=max(1, options["workers"]))
        if not report.ok:
            raise CommandError(f"audit chain broken at event {report.first_bad_id}: {report.problem} "
                               f"({report.checked} events verified before it)")
        self.stdout.write(self.style.SUCCESS(f"audit chain intact: {report.checked} events, head {report.head}"))
