"""Export a dashboard in its JSON form (docs/dashboards.md); `dashboard_import` reads it back unchanged."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from executions.dashboards.models import Dashboard
from executions.dashboards.services import dashboard_export


class Command(BaseCommand):
    help = "Write a dashboard as JSON to standard output (or -o FILE)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dashboard_id", type=int)
        parser.add_argument("-o", "--output", help="write to this file instead of standard output")

    def handle(self, *args: object, **options: object) -> None:
        try:
            dashboard = Dashboard.objects.select_related("team").get(pk=options["dashboard_id"])
        except Dashboard.DoesNotExist:
            raise CommandError(f"no dashboard with id {options['dashboard_id']}") from None
        text = json.dumps(dashboard_export(dashboard=dashboard), indent=2, ensure_ascii=False) + "\n"
        if options["output"]:
            Path(str(options["output"])).write_text(text, encoding="utf-8")
            self.stderr.write(f"wrote {options['output']}")
        else:
            self.stdout.write(text, ending="")
