from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def panel(request: HttpRequest) -> dict[str, object]:
    """What every page needs to know about the panel itself."""
    return {
        "KODEXA_DEMO": settings.KODEXA_DEMO,
        "KODEXA_UI_URL": settings.KODEXA_UI_URL,
        "request_id": getattr(request, "request_id", ""),
        # The user's clock (kodexa_admin.middleware.ClockMiddleware); None outside a request it ran for.
        "clock": getattr(request, "clock", None),
    }
