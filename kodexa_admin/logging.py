"""Request-scoped logging context: every log line carries the id of the request that caused it."""

from __future__ import annotations

import contextvars
import logging

from pythonjsonlogger.json import JsonFormatter

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
client_ip_var: contextvars.ContextVar[str] = contextvars.ContextVar("client_ip", default="-")


def current_request_id() -> str:
    return request_id_var.get()


class RequestIDFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        if not hasattr(record, "client_ip"):
            record.client_ip = client_ip_var.get()
        return True


class RedactingJsonFormatter(JsonFormatter):
    """JSON lines with the Kodexa API key (and long fragments of it) cut out of the whole line: messages,
    extra fields and tracebacks alike, whatever put it there."""

    def format(self, record: logging.LogRecord) -> str:
        from executions.upstream.client import redact_api_key  # settings are loaded by the time anything logs

        return redact_api_key(super().format(record))
