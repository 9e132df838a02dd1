"""Base-URL and path building: the only place a Kodexa URL is put together (SSRF guard)."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import quote, urlsplit

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")
_LOOPBACK_NAMES = ("localhost", "localhost.")

# Fixed route templates: the only way a URL path is ever built.
ROUTE_EXECUTIONS = "/api/executions"
ROUTE_EXECUTION = "/api/executions/{id}"
ROUTE_CANCEL = "/api/executions/{id}/cancel"
ROUTE_STATUS_MESSAGES = "/api/executions/{id}/status-messages"
ROUTE_ASSISTANTS = "/api/assistants"
ROUTE_ASSISTANT = "/api/assistants/{id}"
ROUTE_DOCUMENT_FAMILY = "/api/document-families/{id}"
ROUTE_REPROCESS = "/api/document-families/{id}/reprocess"
ROUTE_ACCOUNT = "/api/account/me"


def validate_id(value: object) -> str:
    """An id safe to put in a path segment; ValueError otherwise (before any HTTP happens)."""
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise ValueError("invalid Kodexa id")
    return value


def validate_base_url(base_url: str) -> str:
    """The normalised base URL; https unless the host is loopback, no credentials, query or fragment."""
    if not isinstance(base_url, str) or not base_url.strip():
        raise ValueError("Kodexa base URL is required")
    url = base_url.strip()
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise ValueError("Kodexa base URL contains whitespace or control characters")
    if "?" in url or "#" in url:
        raise ValueError("Kodexa base URL must not have a query or fragment")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError("Kodexa base URL must be http or https")
    if "@" in parts.netloc:
        raise ValueError("Kodexa base URL must not contain credentials")
    if not parts.hostname:
        raise ValueError("Kodexa base URL has no host")
    try:
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError as exc:
        raise ValueError("Kodexa base URL has an invalid port") from exc
    if scheme != "https" and not is_loopback(parts.hostname):
        raise ValueError("Kodexa base URL must use https (plain http is allowed only on loopback)")
    return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def route_path(route: str, object_id: str | None = None) -> str:
    """Fill a fixed template; an id is required exactly when the template has a slot for it."""
    if "{id}" not in route:
        if object_id is not None:
            raise ValueError("route takes no id")
        return route
    return route.format(id=quote(validate_id(object_id), safe=""))
