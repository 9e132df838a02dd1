"""What each user chose for the panel's clock; one row per user, created on first change."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Clock(models.TextChoices):
    UTC = "utc", "UTC"
    LOCAL = "local", "Local"


class Preference(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="panel_preference")
    clock = models.CharField(max_length=8, choices=Clock.choices, default=Clock.UTC)
    # The browser's IANA zone ("Europe/Berlin"), sent along when the user picks "local"; validated on the way in.
    time_zone = models.CharField(max_length=64, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.user}: {self.clock} {self.time_zone}".strip()
