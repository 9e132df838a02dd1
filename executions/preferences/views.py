"""Setting the clock: a plain form POST from the header (works without JavaScript), then back where it came from."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from executions.preferences.clock import remember


def _safe_next(request: HttpRequest) -> str:
    target = str(request.POST.get("next") or "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return "/"


@require_POST
def set_clock(request: HttpRequest) -> HttpResponse:
    """clock=utc|local; with JavaScript the browser's IANA zone comes along as `zone` (unknown zones: UTC)."""
    remember(request.user, request.session, mode=str(request.POST.get("clock", "")),
             zone_name=request.POST.get("zone"))
    return redirect(_safe_next(request))
