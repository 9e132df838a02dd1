"""Request id middleware (one id per request, in the logs, the response header and error pages, with the client's
address in the logs) and the clock middleware (the user's time zone for the request)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.log import log_response

from kodexa_admin.client_ip import client_ip
from kodexa_admin.logging import client_ip_var, request_id_var

# A client-supplied id is kept only if it cannot smuggle anything into a log line.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIDMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        # The client's address (TRUSTED_PROXIES decide whether X-Forwarded-For counts) on every log line, and in
        # the WSGI environ for gunicorn's access log (`%({kodexa.client_ip}e)s`).
        address = client_ip(request) or "-"
        request.META["kodexa.client_ip"] = address
        ip_token = client_ip_var.set(address)
        try:
            response = self.get_response(request)
            if response.status_code >= 400:
                # Django logs a returned 4xx/5xx ("Bad Gateway: /path") only after every middleware has
                # returned, when the id is gone; logging it here, the same way, marks it logged so Django skips it.
                log_response("%s: %s", response.reason_phrase, request.path, response=response, request=request)
        finally:
            request_id_var.reset(token)
            client_ip_var.reset(ip_token)
        response["X-Request-ID"] = request_id
        return response


class ClockMiddleware:
    """Activates the user's clock (UTC, or their browser's zone) for the request: shown times and typed date
    filters use it; what is stored and sent to Kodexa stays UTC. After AuthenticationMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from executions.preferences.clock import ClockChoice, choice_for, using  # models load after settings

        # Only a request with a session can have a signed-in user; the rest (health checks, static) cost nothing.
        has_session = settings.SESSION_COOKIE_NAME in request.COOKIES
        choice = choice_for(request.user, request.session) if has_session and request.user.is_authenticated \
            else ClockChoice()
        request.clock = choice
        with using(choice):
            return self.get_response(request)
