"""Settings for the test suite: the real settings with a fixed test secret and fast password hashing."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-for-the-test-suite-only-0123456789abcdef")

from kodexa_admin.settings import *  # noqa: F403
from kodexa_admin.settings import STATIC_ROOT, STORAGES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests render templates without running collectstatic first.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request otherwise

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not the default in-memory database: concurrency tests use several connections at once, and
    # WAL plus BEGIN IMMEDIATE behave like production only on a real file.
    # One file per test process, so two runs side by side never share (and break) one database.
    DATABASES["default"]["TEST"] = {"NAME": str(STATIC_ROOT.parent / f"test_db_{os.getpid()}.sqlite3")}  # noqa: F405
