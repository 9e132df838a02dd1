import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from executions.audit.chain import audit_chain_verify
from executions.audit.exports import NotAnExport, audit_export_verify
from executions.audit.models import AuditEvent

_HASH = re.compile(r"[0-9a-f]{64}")


class Command(BaseCommand):
    help = ("Verify the audit chain: exit 0 when intact, non-zero naming the first bad event. "
            "With --file, verify a JSON export instead (needs the same AUDIT_CHAIN_KEY). "
            "With --head, also prove nothing was cut off the end: give a chain head from the application log.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", type=Path,
                            help="a JSON export from /audit/export.json: it must still hold every event it lists")
        parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                            help="processes that check hashes in parallel (default: one per CPU)")
        parser.add_argument("--head", metavar="HASH",
                            help="a chain head recorded outside the database (the audit_chain_head field of the "
                                 "application log): it must still be in the chain, with any number of events "
                                 "after it. Links only show events removed in the middle; this shows events "
                                 "removed from the end.")

    def handle(self, *args: object, **options: object) -> None:
        head = (options["head"] or "").strip().lower() or None
        if head is not None and not _HASH.fullmatch(head):
            raise CommandError("--head must be a chain hash: 64 hexadecimal characters (audit_chain_head in the "
                               "application log)")
        if options["file"]:
            try:
                document = json.loads(Path(options["file"]).read_text())
            except (OSError, ValueError) as exc:
                raise CommandError(f"cannot read {options['file']}: {exc}") from None
            try:
                checked = audit_export_verify(document=document)
            except NotAnExport as exc:
                raise CommandError(f"{options['file']} is not an audit export: {exc}") from None
            report = checked.report
            if checked.warning:
                self.stderr.write(self.style.WARNING(f"warning: {checked.warning}"))
            rows = document if isinstance(document, list) else document["events"]
            position = _head_in_rows(rows, head) if head else None
        else:
            report = audit_chain_verify(workers=max(1, options["workers"]))
            position = _head_in_database(head) if head else None
        if not report.ok and report.first_bad_id is None:
            raise CommandError(f"audit export does not verify: {report.problem}")
        if not report.ok:
            raise CommandError(f"audit chain broken at event {report.first_bad_id}: {report.problem} "
                               f"({report.checked} events verified before it)")
        if head is not None and position is None:
            # Nothing says why it is missing: a cut-off end and a head from elsewhere look the same from here.
            raise CommandError(f"audit chain head {head} is not in this chain: events may have been removed from "
                               f"the end, or the head is from another database or key ({report.checked} events "
                               f"verified, current head {report.head})")
        if position is not None:
            self.stdout.write(f"head found at event {position[0]}; {position[1]} events after it")
        self.stdout.write(self.style.SUCCESS(f"audit chain intact: {report.checked} events, head {report.head}"))


def _head_in_database(head: str) -> tuple[int, int] | None:
    event_id = AuditEvent.objects.filter(hash=head).values_list("id", flat=True).first()
    if event_id is None:
        return None
    return event_id, AuditEvent.objects.filter(id__gt=event_id).count()


def _head_in_rows(rows: Sequence[Mapping[str, Any]], head: str) -> tuple[int, int] | None:
    for index, row in enumerate(rows):
        if row.get("hash") == head:
            return row["id"], len(rows) - index - 1
    return None
