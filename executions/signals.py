from __future__ import annotations

from django.core.signals import setting_changed
from django.dispatch import receiver

from executions.upstream import kodexa_client


@receiver(setting_changed)
def _rebuild_kodexa_client(*, setting: str, **kwargs: object) -> None:
    if setting.startswith("KODEXA_"):
        kodexa_client.cache_clear()
