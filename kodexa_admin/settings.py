"""Settings for Kodexa Admin.

One settings module, driven by the environment (django-environ). Production behaviour is switched on by
environment variables, never by a separate settings file; `.env.example` documents every variable.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from kodexa_admin.audit_key import derived_chain_key

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

# A local .env is a convenience for development; real environment variables always win.
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env")

# --- Core -------------------------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is required unless DJANGO_DEBUG=true.")
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "csp",
    "axes",
    "executions",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "kodexa_admin.middleware.RequestIDMiddleware",
    "kodexa_admin.metrics.RequestMetricsMiddleware",  # latency by URL name (static files are whitenoise's)
    # Outside CommonMiddleware, so the 400 page for a disallowed Host (raised there) still gets these headers.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Default-deny: every view needs a login unless it opts out with @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # The user's clock (UTC or their browser's zone) for shown times and typed date filters.
    "kodexa_admin.middleware.ClockMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes requires: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "kodexa_admin.urls"
WSGI_APPLICATION = "kodexa_admin.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "kodexa_admin.context_processors.panel",
            ],
        },
    },
]

# --- Database and cache -----------------------------------------------------------------------------------
(BASE_DIR / "var").mkdir(exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock when a transaction starts, which serializes audit-chain appends and
    # avoids "database is locked" upgrades from read to write locks; WAL lets readers run alongside.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://kodexa-admin")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"]["BACKEND"] = "kodexa_admin.redis_cache.RedisCache"  # same backend, one client per pool
elif CACHES["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache":
    # Django's default of 300 entries is less than two full dashboards (241 reads each), and its LRU cull then
    # evicts every read before it is used again. 1,000 keep three or four warm beside sessions and names; more
    # would let list pages' last good copies (up to 650 KB each) grow a worker further (README, "Performance").
    CACHES["default"].setdefault("OPTIONS", {}).setdefault("MAX_ENTRIES", 1000)

# --- Auth and sessions ------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses logins while a username+IP pair is locked out
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling: 5 failures for one username from one address lock that pair for 15 minutes. Locking on the
# username alone would let anyone lock a colleague out.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The address axes counts failures against is the one the audit log records (kodexa_admin/client_ip.py).
AXES_CLIENT_IP_CALLABLE = "kodexa_admin.client_ip.client_ip"
AXES_VERBOSE = False
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = int(timedelta(hours=8).total_seconds())  # one support shift
# Sessions are read from the shared cache and written through to the database: one query less per page, and
# still shared by every worker and host (the cache is Redis there) and durable across cache restarts.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- Reverse proxies --------------------------------------------------------------------------------------
# Addresses or CIDRs of the proxies in front (nginx). X-Forwarded-For is read only from these peers; empty
# (the default) ignores it, which is right when clients connect to gunicorn directly.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

# --- Metrics ----------------------------------------------------------------------------------------------
# /metrics answers clients from these networks (the address TRUSTED_PROXIES resolve), or any client that sends
# `Authorization: Bearer <METRICS_TOKEN>` (unset: no token is accepted).
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.1/32", "::1/128"])
METRICS_TOKEN = env("METRICS_TOKEN", default="")

# --- Security headers -------------------------------------------------------------------------------------
SECURE = env.bool("DJANGO_SECURE", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_COOKIE_HTTPONLY = True  # htmx gets the token from the page (hx-headers), never from the cookie
# Django's own CSRF page has an inline <style> (blocked by our CSP) and no request id; ours keeps the layout.
CSRF_FAILURE_VIEW = "kodexa_admin.errors.csrf_failure"
SESSION_COOKIE_HTTPONLY = True
if SECURE:
    SECURE_SSL_REDIRECT = True
    # Probes and Prometheus talk to each instance directly over plain HTTP on its loopback or internal port; a
    # redirect to https there would only fail them. Nothing on these paths reads a cookie or a session.
    SECURE_REDIRECT_EXEMPT = [r"^(healthz|readyz|metrics)$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(timedelta(days=365).total_seconds())
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"

# HSTS preload is a one-way commitment for the whole domain; a team opts in deliberately, not by default.
SILENCED_SYSTEM_CHECKS = ["security.W021"]

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}

# --- Static files -----------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- I18N -------------------------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Kodexa -----------------------------------------------------------------------------------------------
KODEXA_URL = env("KODEXA_URL", default="")
KODEXA_API_KEY = env("KODEXA_API_KEY", default="")
KODEXA_CONNECT_TIMEOUT = env.float("KODEXA_CONNECT_TIMEOUT", default=3.05)
KODEXA_READ_TIMEOUT = env.float("KODEXA_READ_TIMEOUT", default=10.0)
# Whole budget of one call, retries and a slowly trickling body included; below gunicorn's worker timeout.
KODEXA_TOTAL_TIMEOUT = env.float("KODEXA_TOTAL_TIMEOUT", default=20.0)
# How list requests are written where Kodexa's sources disagree: `auto` asks the tenant (docs/kodexa-api.md).
KODEXA_FILTER_DIALECT = env("KODEXA_FILTER_DIALECT", default="auto")
KODEXA_SORT_SEPARATOR = env("KODEXA_SORT_SEPARATOR", default="auto")
KODEXA_PAGE_BASE = env("KODEXA_PAGE_BASE", default="auto")
KODEXA_UI_URL = env("KODEXA_UI_URL", default="")
# Set by `make run` when the panel talks to the bundled stand-in, so every page says the data is fake.
KODEXA_DEMO = env.bool("KODEXA_DEMO", default=False)

# --- Audit ------------------------------------------------------------------------------------------------
AUDIT_CHAIN_KEY = env("AUDIT_CHAIN_KEY", default="") or derived_chain_key(SECRET_KEY)

# --- Logging: JSON lines on stdout, each with the request id ----------------------------------------------
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "kodexa_admin.logging.RequestIDFilter"}},
    "formatters": {
        "json": {
            "()": "kodexa_admin.logging.RedactingJsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(client_ip)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.server": {"level": "WARNING"},
    },
}
