"""gunicorn settings. Threads hide Kodexa's latency: a worker waiting on the API still serves others."""

import os
import shutil
from pathlib import Path

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

# Metrics (kodexa_admin/metrics.py): each worker writes its counters to files in one directory per instance, and
# /metrics adds them up. Set before any worker imports prometheus_client; two instances on one host must not
# share a directory (the default is per port). Emptied when the instance starts, so counts begin at zero, like a
# single process's; Prometheus sees a counter reset, as after any restart.
_metrics_dir_is_ours = "PROMETHEUS_MULTIPROC_DIR" not in os.environ
_metrics_dir = Path(os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR",
    str(Path(__file__).resolve().parent.parent / "var" / f"metrics-{os.environ.get('PORT', '8000')}"),
))


def on_starting(server):
    _metrics_dir.mkdir(parents=True, exist_ok=True)
    for stale in _metrics_dir.glob("*.db"):  # only prometheus-client's files, whatever else the directory holds
        stale.unlink()


def on_exit(server):
    if _metrics_dir_is_ours:  # var/ would otherwise collect a directory per port ever used
        shutil.rmtree(_metrics_dir, ignore_errors=True)


def child_exit(server, worker):
    # A worker that exits (recycled by max_requests, or killed) keeps its counts: only its live gauges go.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
