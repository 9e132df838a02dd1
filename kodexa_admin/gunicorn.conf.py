"""gunicorn settings. Threads hide Kodexa's latency: a worker waiting on the API still serves others."""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# Longer than the Kodexa client's whole budget (retries included), so a slow upstream never gets a worker
# killed mid-cancel.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 20
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
control_socket_disable = True

# gunicorn's own lines are JSON too, and each access line carries the request id the app put in X-Request-ID.
accesslog = "-" if os.environ.get("GUNICORN_ACCESSLOG", "true").lower() == "true" else None
# The first field is the client's address as the app resolved it (TRUSTED_PROXIES); `peer` is the direct peer.
access_log_format = ('%({kodexa.client_ip}e)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s '
                     'peer=%(h)s')
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            # No request_id field on purpose: gunicorn.error lines (boot, worker timeouts, signals) come from the
            # arbiter or outside any request, where the id would always be "-"; access lines carry it in the
            # message (access_log_format) and the app's own lines carry it as a field.
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}},
    "loggers": {
        "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
