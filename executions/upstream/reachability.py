"""Kodexa's reachability for the readiness probe, checked at most once per window across every worker.

Probes are anonymous and frequent; each one calling Kodexa would let anyone spend the panel's API quota.
`cache.add` on a key that lives for the window elects one prober per window (all workers share the cache);
everyone else reports the last result. The probe uses the unguarded client, so it never feeds the breaker.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.core.cache import cache
from django.utils import timezone

from executions.kodexa import KodexaError, KodexaNotConfigured
from executions.upstream.client import kodexa_probe_client

logger = logging.getLogger("executions.reachability")

WINDOW = 60
_PROBED = "kx:reachability:probed"  # exists while this window's probe has been claimed
_RESULT = "kx:reachability:result"
_RESULT_TTL = 3 * WINDOW  # outlives the window, so the answer stays on show while the next probe runs


@dataclass(frozen=True, slots=True)
class Reachability:
    status: str  # 'ok', 'not configured', 'unknown' (first probe still running), or the kind of failure
    checked_at: str | None  # ISO time of the probe that found it


def kodexa_reachability() -> Reachability:
    """The last probe's result; probes Kodexa (one request) when this window has not been probed yet."""
    if cache.add(_PROBED, True, WINDOW):
        found = (_probe(), timezone.now().isoformat())
        cache.set(_RESULT, found, _RESULT_TTL)  # a plain tuple: any cache backend stores it
    else:
        found = cache.get(_RESULT) or ("unknown", None)
    return Reachability(status=found[0], checked_at=found[1])


def forget() -> None:
    """End the window now: the next readiness check probes again."""
    cache.delete_many([_PROBED, _RESULT])


def _probe() -> str:
    try:
        kodexa_probe_client().get_account()
    except KodexaNotConfigured:
        return "not configured"
    except KodexaError as exc:
        return type(exc).__name__
    except Exception as exc:  # the readiness answer must not fail because the probe did
        logger.exception("readiness: Kodexa probe failed unexpectedly")
        return type(exc).__name__
    return "ok"
