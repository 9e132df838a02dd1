"""The audit chain: append-only events linked by HMAC-SHA256, appended one at a time across every worker
and host, and verified from the first event to the last.

hash = HMAC(AUDIT_CHAIN_KEY, prev_hash + canonical JSON of the event). Inserts take a database-wide lock
(PostgreSQL advisory lock; SQLite's BEGIN IMMEDIATE), so two workers can never link to the same head.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import multiprocessing
import uuid
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection, connections, transaction
from django.db.models import Max, Min
from django.http import HttpRequest
from django.utils import timezone

from executions.audit.models import AuditAction, AuditEvent
from executions.upstream.client import redact_api_key
from kodexa_admin.client_ip import client_ip
from kodexa_admin.metrics import record_audit_event

logger = logging.getLogger("executions.audit")

GENESIS_HASH = "0" * 64
# Any constant works: every process must use the same one. (PostgreSQL advisory locks take a bigint.)
_CHAIN_LOCK_ID = 0x4B44_5841_5544  # "KDXAUD"
MAX_TEXT = 2000
MAX_USER_AGENT = 300

# The fields that the hash covers, in the order they appear in exports.
CHAINED_FIELDS = (
    "occurred_at", "action", "actor_id", "actor_username", "execution_id", "reason_category", "reason",
    "batch_id", "request_id", "client_ip", "user_agent", "status_before", "upstream_status", "status_after",
    "error", "upstream_latency_ms", "request_event_id", "idempotency_key", "details",
)


@dataclass(frozen=True, slots=True)
class RequestMeta:
    """Where an action came from: recorded with every event."""

    request_id: str = ""
    client_ip: str | None = None
    user_agent: str = ""

    @classmethod
    def of(cls, request: HttpRequest) -> RequestMeta:
        # X-Forwarded-For counts only from TRUSTED_PROXIES: the same answer axes and the logs use.
        return cls(request_id=getattr(request, "request_id", ""), client_ip=client_ip(request),
                   user_agent=request.headers.get("User-Agent", ""))


class DuplicateAttempt(Exception):
    """An event with this idempotency key exists already: the form was submitted twice."""

    def __init__(self, existing: AuditEvent) -> None:
        super().__init__(f"idempotency key already used by event {existing.pk}")
        self.existing = existing


def _clean(text: str | None, limit: int = MAX_TEXT) -> str:
    # No control characters except newlines and tabs: they would corrupt logs and CSV exports. An event can
    # never be edited, so the API key is cut out of every text before it is stored, whoever typed or sent it.
    if not text:
        return ""
    return redact_api_key("".join(ch for ch in str(text) if ch in "\n\t" or ord(ch) >= 32))[:limit]


def _clean_details(value: Any) -> Any:
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, Mapping):
        return {_clean(str(key), 64): _clean_details(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_details(item) for item in value]
    return value


def _normalize_ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


# One encoder for every event: json.dumps() with options builds a new encoder per call.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
_INTEGER_FIELDS = ("actor_id", "request_event_id", "upstream_status")


def canonical_payload(fields: Mapping[str, Any]) -> bytes:
    """The exact bytes that are signed: sorted keys, compact, UTC times, ids as strings.

    Runs once per event when appending and once per event when verifying a million of them, hence the
    field-by-field code rather than a generic loop.
    """
    normalized = {name: fields.get(name) for name in CHAINED_FIELDS}
    if isinstance(occurred_at := normalized["occurred_at"], datetime):
        normalized["occurred_at"] = _iso(occurred_at)
    if isinstance(batch_id := normalized["batch_id"], uuid.UUID):
        normalized["batch_id"] = str(batch_id)
    if (latency := normalized["upstream_latency_ms"]) is not None:
        normalized["upstream_latency_ms"] = round(float(latency), 1)
    for name in _INTEGER_FIELDS:
        if (value := normalized[name]) is not None:
            normalized[name] = int(value)
    return _CANONICAL.encode(normalized).encode()


def chain_hash(prev_hash: str, payload: bytes, key: str | None = None) -> str:
    secret = (key if key is not None else settings.AUDIT_CHAIN_KEY).encode()
    return hmac.new(secret, prev_hash.encode() + payload, hashlib.sha256).hexdigest()


def _lock_chain() -> None:
    """Serialize appends across processes and hosts (called inside the appending transaction)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_ID])
    # SQLite: the settings open every transaction with BEGIN IMMEDIATE, which already holds the write lock.


def audit_event_append(
    *,
    action: AuditAction,
    actor: AbstractBaseUser | None = None,
    execution_id: str = "",
    reason_category: str = "",
    reason: str = "",
    batch_id: uuid.UUID | None = None,
    meta: RequestMeta = RequestMeta(),
    status_before: str = "",
    upstream_status: int | None = None,
    status_after: str = "",
    error: str = "",
    upstream_latency_ms: float | None = None,
    request_event: AuditEvent | None = None,
    idempotency_key: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain and commit it before returning (never inside the caller's work)."""
    fields: dict[str, Any] = {
        "occurred_at": timezone.now(),
        "action": AuditAction(action).value,
        "actor_id": actor.pk if actor is not None else None,
        "actor_username": _clean(actor.get_username() if actor is not None else "", 150),
        "execution_id": _clean(execution_id, 64),
        "reason_category": _clean(reason_category, 32),
        "reason": _clean(reason),
        "batch_id": batch_id,
        "request_id": _clean(meta.request_id, 64),
        "client_ip": _normalize_ip(meta.client_ip),
        "user_agent": _clean(meta.user_agent, MAX_USER_AGENT),
        "status_before": _clean(status_before, 32),
        "upstream_status": upstream_status,
        "status_after": _clean(status_after, 32),
        "error": _clean(error),
        "upstream_latency_ms": round(upstream_latency_ms, 1) if upstream_latency_ms is not None else None,
        "request_event_id": request_event.pk if request_event is not None else None,
        "idempotency_key": idempotency_key,
        "details": _clean_details(json.loads(json.dumps(dict(details or {}), default=str))),
    }
    # durable: the event is committed when this block ends, never folded into a caller's transaction that
    # might roll back or outlive a crash. (Django's test cases relax the check for their own wrapping.)
    with transaction.atomic(durable=True):
        _lock_chain()
        if idempotency_key is not None:
            existing = AuditEvent.objects.filter(idempotency_key=idempotency_key).first()
            if existing is not None:
                raise DuplicateAttempt(existing)
        prev_hash = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first() or GENESIS_HASH
        event = AuditEvent(**fields, prev_hash=prev_hash, hash=chain_hash(prev_hash, canonical_payload(fields)))
        event.save()
    record_audit_event(event.action)
    logger.info(
        "audit event appended",
        extra={"audit_event_id": event.pk, "audit_action": event.action, "execution_id": event.execution_id,
               "actor": event.actor_username, "audit_chain_head": event.hash},
    )
    return event


@dataclass(frozen=True, slots=True)
class ChainReport:
    ok: bool
    checked: int
    head: str
    first_bad_id: int | None = None
    problem: str = ""


def _rows_in_chain_order(*, first_id: int | None = None, stop_id: int | None = None,
                         batch: int = 5000) -> Iterator[dict[str, Any]]:
    events = AuditEvent.objects.order_by("id")
    if first_id is not None:
        events = events.filter(id__gte=first_id)
    if stop_id is not None:
        events = events.filter(id__lt=stop_id)
    yield from events.values("id", "prev_hash", "hash", *CHAINED_FIELDS).iterator(chunk_size=batch)


def chain_verify(rows: Iterable[Mapping[str, Any]], *, key: str | None = None,
                 expected_prev: str | None = GENESIS_HASH) -> ChainReport:
    """Walk events in order; name the first one that was modified, inserted, deleted around or moved.

    `expected_prev=None` trusts the first row's link: used for one slice of a chain verified in parallel,
    whose boundaries the caller checks.
    """
    checked = 0
    for row in rows:
        if expected_prev is not None and row["prev_hash"] != expected_prev:
            return ChainReport(False, checked, expected_prev, row["id"],
                               "does not link to the event before it (an event was deleted, inserted or moved)")
        if not hmac.compare_digest(row["hash"], chain_hash(row["prev_hash"], canonical_payload(row), key)):
            return ChainReport(False, checked, expected_prev or "", row["id"],
                               "its content does not match its hash (modified, or forged without the key)")
        expected_prev = row["hash"]
        checked += 1
    return ChainReport(True, checked, expected_prev or GENESIS_HASH)


@dataclass(frozen=True, slots=True)
class _Slice:
    report: ChainReport
    first_id: int | None
    first_prev: str | None


def _verify_slice(bounds: tuple[int, int]) -> _Slice:
    first: dict[str, Any] = {}

    def remember_first(rows: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for row in rows:
            first.setdefault("row", row)
            yield row

    report = chain_verify(remember_first(_rows_in_chain_order(first_id=bounds[0], stop_id=bounds[1])),
                          expected_prev=None)
    row = first.get("row")
    return _Slice(report, row["id"] if row else None, row["prev_hash"] if row else None)


def audit_chain_verify(*, workers: int = 1, parallel_from: int = 200_000) -> ChainReport:
    """Verify the whole chain. With workers > 1 and at least `parallel_from` events, the hashes of id ranges
    are checked in parallel processes (the work is CPU-bound: threads would not help) and the links between
    the ranges are checked here."""
    bounds = AuditEvent.objects.aggregate(low=Min("id"), high=Max("id"))
    if bounds["low"] is None:
        return ChainReport(True, 0, GENESIS_HASH)
    if workers <= 1 or bounds["high"] - bounds["low"] + 1 < parallel_from:
        return chain_verify(_rows_in_chain_order())
    step = -(-(bounds["high"] - bounds["low"] + 1) // workers)
    ranges = [(low, low + step) for low in range(bounds["low"], bounds["high"] + 1, step)]
    connections.close_all()  # each forked process opens its own connection
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
        slices = list(pool.map(_verify_slice, ranges))
    expected_prev, checked = GENESIS_HASH, 0
    for part in slices:
        if part.first_id is None:
            continue
        if part.first_prev != expected_prev:
            return ChainReport(False, checked, expected_prev, part.first_id,
                               "does not link to the event before it (an event was deleted, inserted or moved)")
        if not part.report.ok:
            return ChainReport(False, checked + part.report.checked, part.report.head, part.report.first_bad_id,
                               part.report.problem)
        expected_prev, checked = part.report.head, checked + part.report.checked
    return ChainReport(True, checked, expected_prev)


def export_verify(rows: Iterable[Mapping[str, Any]], *, key: str | None = None,
                  linked: bool = False) -> ChainReport:
    """Verify exported events: every event's own hash, and the links between events adjacent in the chain.

    `linked`: the rows are the whole chain (an unfiltered export), so each must link to the row before it and
    the first to the genesis hash; a removed row is then named by the row after it. Otherwise (a filtered
    export has gaps) a link is checked only where the ids are consecutive (nothing can sit between them).
    """
    checked = 0
    previous: Mapping[str, Any] | None = None
    head = GENESIS_HASH
    for row in rows:
        if previous is not None and row["id"] <= previous["id"]:
            return ChainReport(False, checked, head, row["id"], f"comes after event {previous['id']} "
                                                                "(events out of order or repeated)")
        try:
            payload = canonical_payload(row)
        except (TypeError, ValueError):
            return ChainReport(False, checked, head, row["id"], "its values are not those of an audit event")
        if not hmac.compare_digest(row["hash"], chain_hash(row["prev_hash"], payload, key)):
            return ChainReport(False, checked, head, row["id"], "its content does not match its hash")
        if linked and row["prev_hash"] != head:
            where = f"after event {previous['id']}" if previous is not None else "at the start of the chain"
            return ChainReport(False, checked, head, row["id"], f"does not link to the event before it: events "
                                                                f"{where} were removed (or this one was moved)")
        if previous is not None and row["id"] == previous["id"] + 1 and row["prev_hash"] != previous["hash"]:
            return ChainReport(False, checked, head, row["id"], "does not link to the event before it")
        previous, head = row, row["hash"]
        checked += 1
    return ChainReport(True, checked, head)
