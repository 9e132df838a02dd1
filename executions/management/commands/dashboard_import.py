"""Import a dashboard from its JSON form (docs/dashboards.md), e.g. one kept in version control."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from executions.dashboards.io import dashboard_spec_check
from executions.dashboards.services import dashboard_import, dashboard_import_errors

# A full dashboard, pretty-printed with every field at its longest, is about 30 KiB (70 KiB with its text
# escaped): a larger file is not one, and is refused before it is read into memory or parsed.
MAX_FILE_BYTES = 256 * 1024


class Command(BaseCommand):
    stealth_options = ("stdin",)  # call_command(..., stdin=stream); from the shell it is sys.stdin
    stdin = None
    help = ("Import a dashboard from a JSON file. Everything is validated first and every error is reported with "
            "its JSON path; nothing is written unless the whole file is valid. A dashboard with the same name in "
            "the same team is updated in place (its widgets are replaced by the file's).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="path of the JSON file, or - for standard input")
        parser.add_argument("--create-team", action="store_true", help="create the team (group) if it does not exist")

    def _read_bounded(self, source: str) -> bytes:
        """At most one byte more than the limit, so an oversized file is known without reading it all."""
        if source != "-":
            with Path(source).open("rb") as file:
                return file.read(MAX_FILE_BYTES + 1)
        stdin = self.stdin or sys.stdin
        stream = getattr(stdin, "buffer", None)
        if stream is not None:
            return stream.read(MAX_FILE_BYTES + 1)
        return stdin.read(MAX_FILE_BYTES + 1).encode("utf-8")  # a text stream (tests): characters, close enough

    def handle(self, *args: object, **options: object) -> None:
        self.stdin = options.get("stdin")
        source = str(options["file"])
        try:
            raw = self._read_bounded(source)
        except OSError as exc:
            raise CommandError(f"cannot read {source}: {exc.strerror}") from None
        if len(raw) > MAX_FILE_BYTES:
            raise CommandError(f"{source}: larger than {MAX_FILE_BYTES // 1024} KiB; not a dashboard file")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CommandError(f"{source}: not UTF-8 text (byte {exc.start})") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CommandError(f"{source}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
        except RecursionError:  # the decoder recurses per level; no dashboard nests more than a few
            raise CommandError(f"{source}: nested too deeply to be a dashboard file") from None
        spec, errors = dashboard_spec_check(data)
        team = spec.team if spec is not None else data.get("team") if isinstance(data, dict) else None
        if isinstance(team, str) and team.strip():
            errors = [*errors, *dashboard_import_errors(team=team.strip(), create_team=bool(options["create_team"]))]
        if errors:
            for error in errors:
                self.stderr.write(f"{source}: {error}")
            raise CommandError(f"{len(errors)} error{'s' if len(errors) != 1 else ''}; nothing was imported.")
        result = dashboard_import(spec=spec, create_team=bool(options["create_team"]))
        verb = "Created" if result.created else "Updated"
        team_note = " (team created)" if result.team_created else ""
        self.stdout.write(self.style.SUCCESS(
            f"{verb} dashboard #{result.dashboard.pk} “{spec.name}” of team {spec.team}{team_note} "
            f"with {len(spec.widgets)} widget{'s' if len(spec.widgets) != 1 else ''}."
        ))
