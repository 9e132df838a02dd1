"""Exports of the audit log. The CSV is for spreadsheets: its cells are neutralised, so it does not verify. The
JSON export says what it holds, so events removed from a copy are noticed:

{"format": ..., "filters": {...}, "events": [...], "summary": {"count", "first_id", "last_id", "digest",
"signature"}}. The summary comes after the events: it is tallied while they stream (one pass, constant memory,
and it matches the rows exactly even while events keep being appended), and a copy cut short loses it. It is
signed with the chain key, so a summary edited to hide a deletion fails verification like an edited event.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from executions.audit.chain import ChainReport, export_verify

EXPORT_FORMAT = "kodexa-admin-audit-export/2"
_SIGNED = b"kodexa-admin audit export summary\n"  # never the start of a chain hash's input (64 hex digits)
_SUMMARY_FIELDS = {"count": int, "first_id": (int, type(None)), "last_id": (int, type(None)), "digest": str,
                   "signature": str}


# OWASP's list: a spreadsheet evaluates a cell starting with any of these (tab and CR included) as a formula.
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """The value as a CSV cell: dicts as compact JSON, None empty, formula-like text behind a leading quote."""
    if isinstance(value, dict):
        value = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if isinstance(value, str) and value.startswith(FORMULA_LEADS):
        return "'" + value
    return "" if value is None else value


class _Echo:
    """csv.writer target that hands each line back instead of buffering it."""

    def write(self, value: str) -> str:
        return value


def audit_export_csv(*, rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(columns)
    for row in rows:
        yield writer.writerow([csv_cell(row.get(column)) for column in columns])


class NotAnExport(ValueError):
    """The file is not shaped like an audit export: said in one sentence, never as a traceback."""


@dataclass(frozen=True, slots=True)
class ExportReport:
    report: ChainReport
    warning: str = ""


class _Tally:
    def __init__(self) -> None:
        self.count, self.first_id, self.last_id = 0, None, None
        self._digest = hashlib.sha256()

    def add(self, row: Mapping[str, Any]) -> None:
        self.count += 1
        self.first_id = row["id"] if self.first_id is None else self.first_id
        self.last_id = row["id"]
        self._digest.update(f"{row['id']}:{row['hash']}\n".encode())

    def digest(self) -> str:
        return self._digest.hexdigest()


def _signature(*, filters: Mapping[str, str], count: int, first_id: int | None, last_id: int | None, digest: str,
               key: str | None = None) -> str:
    signed = {"format": EXPORT_FORMAT, "filters": dict(filters), "count": count, "first_id": first_id,
              "last_id": last_id, "digest": digest}
    message = _SIGNED + json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    secret = (key if key is not None else settings.AUDIT_CHAIN_KEY).encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def audit_export_json(*, rows: Iterable[Mapping[str, Any]], filters: Mapping[str, str],
                      key: str | None = None) -> Iterator[str]:
    """The export as chunks of text: header, one event per line, then the signed summary."""
    tally = _Tally()
    yield (f'{{"format": {json.dumps(EXPORT_FORMAT)}, '
           f'"filters": {json.dumps(dict(filters), sort_keys=True, ensure_ascii=False)}, "events": [\n')
    for row in rows:
        yield ("" if tally.count == 0 else ",\n") + json.dumps(row, sort_keys=True, ensure_ascii=False)
        tally.add(row)
    summary = {"count": tally.count, "first_id": tally.first_id, "last_id": tally.last_id, "digest": tally.digest()}
    summary["signature"] = _signature(filters=filters, **summary, key=key)
    yield f'\n],\n"summary": {json.dumps(summary, sort_keys=True)}}}\n'


def _check_events(events: object) -> list[Mapping[str, Any]]:
    if not isinstance(events, list):
        raise NotAnExport("its events are not a list")
    for position, row in enumerate(events, start=1):
        if not (isinstance(row, dict) and type(row.get("id")) is int and isinstance(row.get("hash"), str)
                and isinstance(row.get("prev_hash"), str)):
            raise NotAnExport(f"item {position} of its events is not an audit event (id, prev_hash, hash)")
    return events


def audit_export_verify(*, document: object, key: str | None = None) -> ExportReport:
    """Verify a parsed JSON export: its events' hashes and links, and that it still holds what its summary says.

    A list of events is an export made before exports had a summary: its hashes are verified, with a warning.
    Raises NotAnExport when the document has neither shape.
    """
    if isinstance(document, list):
        return ExportReport(export_verify(_check_events(document), key=key),
                            warning="this export has no header or summary (made before exports had them): each "
                                    "event's hash was verified, but events removed from it cannot be detected")
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        raise NotAnExport(f"it is neither a list of events nor a {EXPORT_FORMAT} document")
    filters = document.get("filters")
    if not (isinstance(filters, dict) and all(isinstance(v, str) for v in filters.values())):
        raise NotAnExport("its filters are not a mapping of names to values")
    events = _check_events(document.get("events"))
    summary = document.get("summary")
    if summary is None:
        return ExportReport(ChainReport(False, 0, "", None, "the export has no summary: it was cut off or edited"))
    if not (isinstance(summary, dict)
            and all(isinstance(summary.get(name), kinds) for name, kinds in _SUMMARY_FIELDS.items())):
        raise NotAnExport("its summary is not count, first_id, last_id, digest and signature")
    claimed = {name: summary[name] for name in ("count", "first_id", "last_id", "digest")}
    if not hmac.compare_digest(summary["signature"], _signature(filters=filters, **claimed, key=key)):
        return ExportReport(ChainReport(False, 0, "", None, "the export's summary does not match its signature "
                                                             "(its header or summary was edited, or it was made "
                                                             "with another AUDIT_CHAIN_KEY)"))
    # Unfiltered, the export is the whole chain: every event must link to the one before it.
    report = export_verify(events, key=key, linked=not filters)
    if not report.ok:
        return ExportReport(report)
    return ExportReport(_against_summary(events, claimed, report))


def _against_summary(events: list[Mapping[str, Any]], claimed: Mapping[str, Any], report: ChainReport) -> ChainReport:
    tally = _Tally()
    for row in events:
        tally.add(row)

    def broken(problem: str) -> ChainReport:
        return ChainReport(False, report.checked, report.head, None, problem)

    if tally.count == 0 and claimed["count"]:
        return broken(f"the export holds no events but its summary counts {claimed['count']}")
    if tally.first_id != claimed["first_id"]:
        return broken(f"the export starts at event {tally.first_id} but its summary says it starts at event "
                      f"{claimed['first_id']}: events at the start were removed")
    if tally.last_id != claimed["last_id"]:
        return broken(f"the export ends at event {tally.last_id} but its summary says it runs to event "
                      f"{claimed['last_id']}: events at the end were removed")
    if tally.count != claimed["count"]:
        return broken(f"the export holds {tally.count} events but its summary counts {claimed['count']}: events "
                      f"between events {tally.first_id} and {tally.last_id} were removed or added")
    if tally.digest() != claimed["digest"]:
        return broken("the export's events are not the ones its summary lists: events were replaced or reordered")
    return report
