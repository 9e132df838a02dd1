from django.core.management.base import BaseCommand, CommandError, CommandParser

from executions.cancel.reconcile import audit_reconcile
from executions.kodexa import KodexaNotConfigured
from executions.reprocess.reconcile import reprocess_reconcile
from executions.upstream.client import kodexa_client


class Command(BaseCommand):
    help = ("Find cancels and reprocesses that were requested but never got an outcome (the process died in "
            "between), read from Kodexa what became of them, and record what was found.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", type=int, default=120, metavar="SECONDS",
                            help="only requests at least this old (default 120 s: leaves actions in flight alone)")

    def handle(self, *args: object, **options: object) -> None:
        try:
            # Checked first, even with nothing open: a scheduled run without settings must fail loudly.
            kodexa_client()
            findings = [*audit_reconcile(older_than_seconds=options["older_than"]),
                        *reprocess_reconcile(older_than_seconds=options["older_than"])]
        except KodexaNotConfigured as exc:
            raise CommandError(f"{exc} Set them in the environment (or .env); nothing was reconciled.") from None
        for finding in findings:
            self.stdout.write(f"event {finding.request_event_id} ({finding.execution_id}): {finding.conclusion}")
        self.stdout.write(self.style.SUCCESS(f"{len(findings)} open request(s) reconciled"))
