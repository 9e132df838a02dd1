"""Error pages that keep the layout and show the request id, never a traceback."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.template.exceptions import TemplateDoesNotExist
from django.utils.http import url_has_allowed_host_and_scheme


def _render(request: HttpRequest, template: str, status: int, context: dict[str, object]) -> HttpResponse:
    try:
        body = loader.render_to_string(template, context, request)
    except Exception:  # the error page itself must never fail (e.g. DB down in a context processor)
        body = f"<h1>Error {status}</h1><p>Request id: {getattr(request, 'request_id', '')}</p>"
    return HttpResponse(body, status=status)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    message = ""
    if exception is not None and exception.args and isinstance(exception.args[0], str):
        message = exception.args[0]
    return _render(request, "errors/404.html", 404, {"message": message})


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _render(request, "errors/400.html", 400, {})


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: Django's own page has an inline <style> our CSP blocks, and no request id.

    The reason is not shown (CsrfViewMiddleware has already logged it). Rendering the page issues a fresh CSRF
    cookie, so going back to the form and reloading it is enough to submit again.
    """
    referer = request.headers.get("Referer", "")
    # Only a link back to this site: the Referer is client input and must not become an open redirect.
    back = referer if url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()) else ""
    return _render(request, "errors/403_csrf.html", 403, {"back_url": back})


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _render(request, "errors/403.html", 403, {})


def server_error(request: HttpRequest) -> HttpResponse:
    try:
        body = loader.render_to_string("errors/500.html", {"request_id": getattr(request, "request_id", "")})
    except TemplateDoesNotExist:
        body = "<h1>Server error</h1>"
    return HttpResponse(body, status=500)
