from __future__ import annotations

from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.core.signals import setting_changed
from django.db import connections
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from executions.audit.triggers import install_triggers
from executions.preferences.clock import SESSION_KEY, stored_choice
from executions.upstream.client import kodexa_client, kodexa_probe_client


@receiver(setting_changed)
def _rebuild_kodexa_client(*, setting: str, **kwargs: object) -> None:
    if setting.startswith("KODEXA_"):
        kodexa_client.cache_clear()
        kodexa_probe_client.cache_clear()


@receiver(post_migrate)
def _keep_audit_triggers(*, app_config: AppConfig, using: str, **kwargs: object) -> None:
    """SQLite rebuilds a table (and loses its triggers) on many schema changes; reinstall after every migrate."""
    if app_config.label == "executions":
        install_triggers(connections[using])


@receiver(user_logged_in)
def _remember_clock_in_session(*, request: object, user: object, **kwargs: object) -> None:
    """The user's clock, read once per login: pages then take it from the session, without a query."""
    session = getattr(request, "session", None)
    if session is not None:
        session[SESSION_KEY] = stored_choice(user).to_session()
