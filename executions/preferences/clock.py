"""The panel's one clock: UTC, or the zone the user's browser is in. A middleware activates it for each request
(kodexa_admin.middleware.ClockMiddleware), so every shown time and every typed date filter uses the same zone;
what is stored and sent to Kodexa stays UTC."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django import forms
from django.contrib.sessions.backends.base import SessionBase
from django.utils import timezone

from executions.preferences.models import Clock, Preference

SESSION_KEY = "panel_clock"
# Files some zone databases hold that are not zones a browser reports.
_NOT_ZONES = {"localtime", "posixrules", "Factory"}
_UTC_NAMES = {"UTC", "Etc/UTC", "Etc/Universal", "Universal", "Zulu", "Etc/Zulu", "Etc/GMT", "GMT"}


def valid_zone(name: object) -> str | None:
    """The IANA zone name if the server knows it, else None. Only names from the zone database are accepted (no
    paths, no 'localtime'), so a crafted value cannot make zoneinfo read an arbitrary file."""
    if not isinstance(name, str) or not 1 <= len(name) <= 64:
        return None
    name = name.strip()
    if name in _NOT_ZONES or name not in _known_zones():
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


_ZONES: frozenset[str] | None = None


def _known_zones() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones())
    return _ZONES


@dataclass(frozen=True, slots=True)
class ClockChoice:
    """What the user chose: `mode` utc or local, and the browser's zone (kept even while on UTC, for hovers)."""

    mode: str = Clock.UTC
    zone_name: str = ""

    @property
    def is_local(self) -> bool:
        return self.mode == Clock.LOCAL and bool(self.zone_name)

    @property
    def zone(self) -> tzinfo:
        return ZoneInfo(self.zone_name) if self.is_local else UTC

    @property
    def label(self) -> str:
        """How labels name the zone: "UTC" or "Europe/Berlin"."""
        return self.zone_name if self.is_local else "UTC"

    def to_session(self) -> list[str]:
        return [str(self.mode), self.zone_name]

    @classmethod
    def from_session(cls, value: object) -> ClockChoice | None:
        if not (isinstance(value, list) and len(value) == 2 and value[0] in Clock.values):
            return None
        return cls(mode=value[0], zone_name=valid_zone(value[1]) or "")


def choice_for(user: object, session: SessionBase) -> ClockChoice:
    """The user's clock: from the session (put there at login, so no query per page), else from their stored
    preference. Never written to the session here: that would save it, and so extend it, on an ordinary page view."""
    cached = ClockChoice.from_session(session.get(SESSION_KEY))
    return cached if cached is not None else stored_choice(user)


def stored_choice(user: object) -> ClockChoice:
    preference = Preference.objects.filter(user=user).only("clock", "time_zone").first()
    if preference is None:
        return ClockChoice()
    return ClockChoice(mode=preference.clock, zone_name=valid_zone(preference.time_zone) or "")


def remember(user: object, session: SessionBase, *, mode: str, zone_name: object) -> ClockChoice:
    """Store the choice; an unknown zone is dropped (local without a zone shows UTC, and says so)."""
    if mode not in Clock.values:
        mode = Clock.UTC
    zone = valid_zone(zone_name)
    if zone is None:  # a browser without JavaScript sends no zone: keep the one learned before, if any
        previous = ClockChoice.from_session(session.get(SESSION_KEY))
        stored = Preference.objects.filter(user=user).values_list("time_zone", flat=True).first()
        zone = (previous.zone_name if previous and previous.zone_name else valid_zone(stored)) or ""
    if zone in _UTC_NAMES:
        zone = ""
    Preference.objects.update_or_create(user=user, defaults={"clock": mode, "time_zone": zone})
    choice = ClockChoice(mode=mode, zone_name=zone)
    session[SESSION_KEY] = choice.to_session()
    return choice


# The zone of the request being served. Django's own active zone falls back to settings.TIME_ZONE, the server's;
# the user's clock falls back to UTC, whatever the server's zone.
_user_zone: ContextVar[tzinfo] = ContextVar("panel_user_zone", default=UTC)


@contextmanager
def using(choice: ClockChoice) -> Iterator[None]:
    """Show and read times in `choice`'s zone (Django's `localtime` and date filters too) for the duration."""
    zone = choice.zone
    token = _user_zone.set(zone)
    timezone.activate(zone)
    try:
        yield
    finally:
        timezone.deactivate()
        _user_zone.reset(token)


def user_zone() -> tzinfo:
    return _user_zone.get()


def active_zone_label() -> str:
    """The user's zone as labels say it: "UTC" or "Europe/Berlin"."""
    zone = _user_zone.get()
    return "UTC" if zone is UTC else getattr(zone, "key", str(zone))


def zoned_label(text: str) -> str:
    """A date input's label naming the zone its value is read in: "Created after (Europe/Berlin)"."""
    return f"{text} ({active_zone_label()})"


def to_active(value: datetime) -> datetime:
    return value.astimezone(_user_zone.get())


class ZonedDateTimeInput(forms.DateTimeInput):
    """A datetime-local input that shows its value in the active zone: a URL carries UTC with an explicit
    offset ("2026-11-28T15:00Z"), which a datetime-local input cannot show as it is."""

    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, object] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")

    def format_value(self, value: object) -> str | None:
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value.strip())
            except ValueError:
                return value  # shown back as typed, beside its error
            if parsed.tzinfo is None:
                return value
            value = parsed
        if isinstance(value, datetime) and value.tzinfo is not None:
            try:
                return to_active(value).strftime("%Y-%m-%dT%H:%M")
            except (OverflowError, ValueError):
                return None
        return super().format_value(value)
