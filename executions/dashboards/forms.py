"""Forms for saved views and dashboards. Queries are validated by ExecutionQuery.from_params(), the /executions/
rules."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import unquote_plus

from django import forms
from django.contrib.auth.models import AbstractBaseUser, Group
from django.db.models import QuerySet
from django.http import QueryDict

from executions.browse.forms import ExecutionFilterForm
from executions.browse.query import QUERY_PARAMS, ExecutionQuery
from executions.dashboards.models import (
    NAME_MAX_LENGTH,
    REFRESH_MAX_SECONDS,
    REFRESH_MIN_SECONDS,
    WIDGET_LIMIT_MAX,
    WIDGETS_PER_DASHBOARD_MAX,
    Dashboard,
    SavedView,
    WidgetKind,
)
from executions.kodexa import Assistant


def _name_field(label: str = "Name") -> forms.CharField:
    return forms.CharField(max_length=NAME_MAX_LENGTH, strip=True, label=label)


# Where the user was on the list, not what they want to watch: accepted, not kept.
_NOT_KEPT = ("page", "live")


def query_from_params(params: str) -> tuple[ExecutionQuery | None, list[str]]:
    """A /executions/ querystring as a query (the page number dropped), or None and every error. Strict where
    the list page is lenient: a piece that is not name=value, or a name the list does not know, is an error,
    since dropping it would quietly save a wider view than the user asked for."""
    submitted: dict[str, list[str]] = {}
    errors: list[str] = []
    for piece in (params or "").split("&"):
        if not piece:
            continue
        raw_key, sep, raw_value = piece.partition("=")
        key, value = unquote_plus(raw_key), unquote_plus(raw_value)
        if not sep:
            errors.append(f'"{key[:40]}" is not of the form name=value')
        elif key not in QUERY_PARAMS and key not in _NOT_KEPT:
            errors.append(f'unknown filter "{key[:40]}"')
        elif value and key not in _NOT_KEPT:
            submitted.setdefault(key, []).append(value)
    query, invalid = ExecutionQuery.from_params(submitted)
    errors.extend(f"{field}: {m}" for field, messages in invalid.items() for m in messages)
    if errors:
        return None, errors
    return query, []


class SavedViewCreateForm(forms.Form):
    name = _name_field()
    team = forms.ModelChoiceField(queryset=Group.objects.none(), required=False, empty_label="Only me",
                                  label="Share with")
    # The list page's current filters, as its querystring; re-validated here, never trusted.
    params = forms.CharField(required=False, max_length=4000, widget=forms.HiddenInput)

    def __init__(self, *args: object, owner: AbstractBaseUser, teams: QuerySet[Group], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.owner = owner
        self.fields["team"].queryset = teams
        self.fields["name"].widget.attrs.update({"placeholder": "e.g. Failed invoices today"})

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if SavedView.objects.filter(owner=self.owner, name__iexact=name).exists():
            raise forms.ValidationError("You already have a view with this name.")
        return name

    def clean_params(self) -> ExecutionQuery:
        query, errors = query_from_params(self.cleaned_data.get("params") or "")
        if query is None:
            raise forms.ValidationError("these filters are not valid: " + "; ".join(errors))
        return query


class SavedViewRenameForm(forms.Form):
    name = _name_field()

    def __init__(self, *args: object, saved_view: SavedView, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.saved_view = saved_view

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if (SavedView.objects.filter(owner_id=self.saved_view.owner_id, name__iexact=name)
                .exclude(pk=self.saved_view.pk).exists()):
            raise forms.ValidationError("You already have a view with this name.")
        return name


class DashboardSettingsForm(forms.Form):
    name = _name_field()
    refresh_seconds = forms.IntegerField(min_value=REFRESH_MIN_SECONDS, max_value=REFRESH_MAX_SECONDS, initial=30,
                                         label="Refresh every (seconds)")

    def __init__(self, *args: object, dashboard: Dashboard | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.dashboard = dashboard

    def _team_id(self) -> int | None:
        return self.dashboard.team_id if self.dashboard else None

    def clean(self) -> dict[str, object]:
        data = super().clean()
        name, team_id = data.get("name"), self._team_id()
        if name and team_id:
            clash = Dashboard.objects.filter(team_id=team_id, name__iexact=name)
            if self.dashboard:
                clash = clash.exclude(pk=self.dashboard.pk)
            if clash.exists():
                self.add_error("name", "This team already has a dashboard with this name.")
        return data


class DashboardCreateForm(DashboardSettingsForm):
    team = forms.ModelChoiceField(queryset=Group.objects.none(), empty_label=None)

    def __init__(self, *args: object, teams: QuerySet[Group], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams
        self.order_fields(["name", "team", "refresh_seconds"])

    def _team_id(self) -> int | None:
        team = self.cleaned_data.get("team")
        return team.pk if team else None


class WidgetEditForm(forms.Form):
    title = _name_field("Title")
    kind = forms.ChoiceField(choices=WidgetKind.choices, initial=WidgetKind.COUNT, label="Show as")
    limit = forms.IntegerField(min_value=1, max_value=WIDGET_LIMIT_MAX, initial=10, label="Rows (tables)")
    trend = forms.BooleanField(required=False, label="Trend line (counts)")


class WidgetAddForm(WidgetEditForm):
    """A widget from a saved view, or from an inline query built with the /executions/ filters (prefix `f`)."""

    saved_view = forms.ModelChoiceField(queryset=SavedView.objects.none(), required=False,
                                        empty_label="— the query below —", label="Saved view")

    def __init__(self, data: QueryDict | None = None, *, saved_views: QuerySet[SavedView],
                 assistants: Iterable[Assistant] = (), widget_count: int = 0, **kwargs: object) -> None:
        super().__init__(data, **kwargs)
        self.fields["saved_view"].queryset = saved_views
        self.filters = ExecutionFilterForm(data, assistants=assistants, prefix="f")
        self.widget_count = widget_count

    full_message = f"A dashboard holds at most {WIDGETS_PER_DASHBOARD_MAX} widgets: remove one first."

    @property
    def is_full(self) -> bool:
        return self.widget_count >= WIDGETS_PER_DASHBOARD_MAX

    def clean(self) -> dict[str, object]:
        data = super().clean()
        if self.is_full:
            raise forms.ValidationError(self.full_message, code="full")
        return data

    def is_valid(self) -> bool:
        valid = super().is_valid()
        if valid and self.cleaned_data.get("saved_view") is None:
            return self.filters.is_valid()
        return valid

    @property
    def inline_query(self) -> ExecutionQuery | None:
        if self.cleaned_data.get("saved_view") is not None:
            return None
        return self.filters.to_query()
