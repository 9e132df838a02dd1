"""Forms validate browser input before anything reaches Kodexa: a bad value is a form error, not an
upstream request the API would answer with a 500."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from django import forms

from executions.browse.query import (
    CREATED_PRESETS,
    CUSTOM_RANGE,
    DEFAULT_PAGE_SIZE,
    DEFAULT_SORT,
    FILTERABLE_STATUSES,
    MAX_TEXT,
    PAGE_SIZE_CHOICES,
    SORT_CHOICES,
    STALLED_CHOICES,
    ExecutionQuery,
    id_prefix,
    is_execution_id,
    parse_utc_datetime,
)
from executions.kodexa import Assistant
from executions.preferences.clock import ZonedDateTimeInput, zoned_label


class UTCDateTimeField(forms.Field):
    """A date filter of the audit log: typed in the user's clock (its label names it), cleaned to aware UTC by the
    same rules as the list's dates."""

    widget = ZonedDateTimeInput

    def __init__(self, *, label: str = "", **kwargs: object) -> None:
        # The label names the zone the value is read in, which is the request's, not known when the form class is
        # built: kept bare here and completed when the field is rendered.
        super().__init__(label=label, **kwargs)
        self.bare_label = label

    def get_bound_field(self, form: forms.Form, field_name: str) -> forms.BoundField:
        self.label = zoned_label(self.bare_label)
        return super().get_bound_field(form, field_name)

    def to_python(self, value: object) -> datetime | None:
        if isinstance(value, datetime):
            return value
        if not value or not str(value).strip():
            return None
        try:
            return parse_utc_datetime(str(value))
        except ValueError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from None


_DATE_INPUT = ZonedDateTimeInput()


class ExecutionFilterForm(forms.Form):
    """The list's filters as a form to render. The rules are ExecutionQuery.from_params(), which saved views and
    dashboard files use too: this form only shows the inputs and puts each error beside its input."""

    status = forms.Field(required=False, widget=forms.CheckboxSelectMultiple(
        choices=[(s.value, s.label) for s in FILTERABLE_STATUSES]))
    # Applies itself when picked with the pointer, or with Enter (app.js); the Apply button works as ever.
    assistant = forms.Field(required=False, widget=forms.Select(attrs={"data-apply-on-pick": True}))
    q = forms.Field(required=False, label="Search", widget=forms.TextInput(attrs={"maxlength": MAX_TEXT}))
    created_after = forms.Field(required=False, label="Created after", widget=_DATE_INPUT)
    created_before = forms.Field(required=False, label="Created before", widget=_DATE_INPUT)
    # The visible time control: a moving window (kept relative in views and widgets), or the custom inputs above.
    created_within_hours = forms.Field(required=False, label="Created", widget=forms.Select(
        choices=[("", "Any time"), *CREATED_PRESETS, (CUSTOM_RANGE, "Custom range")]))
    stalled = forms.Field(required=False, label="No progress for", widget=forms.Select(
        choices=[("", "Any time"), *[(n, f"{n} min or more" if n < 60 else f"{n // 60} h or more")
                                     for n in STALLED_CHOICES]]))
    sort = forms.Field(required=False, initial=DEFAULT_SORT, widget=forms.Select(choices=SORT_CHOICES))
    page_size = forms.Field(required=False, initial=DEFAULT_PAGE_SIZE, label="Per page",
                            widget=forms.Select(choices=[(n, str(n)) for n in PAGE_SIZE_CHOICES]))
    page = forms.Field(required=False, widget=forms.HiddenInput)

    def __init__(self, data: Mapping[str, object] | None = None, *, assistants: Iterable[Assistant] = (),
                 **kwargs: object) -> None:
        super().__init__(data, **kwargs)
        self.query = ExecutionQuery()
        self.offer_assistants(assistants)
        for name in ("created_after", "created_before"):  # read in the user's clock, which the label names
            self.fields[name].label = zoned_label(self.fields[name].label)
        self.fields["q"].widget.attrs.update(
            {"placeholder": "Description, or an execution id (8+ characters)", "data-search": "",
             "type": "search"}
        )
        self.fields["created_within_hours"].widget.attrs["data-created-preset"] = ""
        self._offer_created_choice()

    @property
    def status_options(self) -> list[tuple[str, str, bool]]:
        """(value, label, checked) for the status checkboxes, which the list page renders by hand: ten widget
        templates per page view cost more than the rest of the form."""
        chosen = set(self._submitted().get("status", []))
        return [(value, label, value in chosen) for value, label in self.fields["status"].widget.choices]

    @property
    def created_choice(self) -> str:
        """The time preset shown as chosen: "" (any time), a number of hours, or "custom"."""
        submitted = self._submitted()
        within = [v for v in submitted.get("created_within_hours", []) if v.strip()]
        if within:
            return within[-1].strip()
        if any(v.strip() for name in ("created_after", "created_before") for v in submitted.get(name, [])):
            return CUSTOM_RANGE
        return ""

    def _offer_created_choice(self) -> None:
        """A window from a saved view or a file ("48") is offered as such, so the select shows what applies."""
        choice = self.created_choice
        widget = self.fields["created_within_hours"].widget
        if choice.isdigit() and choice not in {str(value) for value, _ in widget.choices}:
            hours = int(choice)
            label = f"Last {hours // 24} days" if hours % 24 == 0 and hours > 24 else f"Last {hours} hours"
            widget.choices = [*widget.choices[:-1], (choice, label), widget.choices[-1]]

    def offer_assistants(self, assistants: Iterable[Assistant]) -> None:
        """Fill the assistant select; validation does not need it, so a page can load the list in parallel."""
        known = [(a.id, a.display_name) for a in sorted(assistants, key=lambda a: a.display_name.lower())]
        self.fields["assistant"].widget.choices = [("", "All assistants"), *known]

    def _submitted(self) -> dict[str, list[str]]:
        if not self.is_bound or not hasattr(self.data, "getlist"):
            return {}
        submitted = {name: self.data.getlist(self.add_prefix(name)) for name in self.fields}
        # One time control wins: a preset drops the custom dates (still in the form, hidden or folded, without
        # JavaScript), and "Custom range" is the dates alone.
        within = [v.strip() for v in submitted.get("created_within_hours", []) if v.strip()]
        if within and within[-1] == CUSTOM_RANGE:
            submitted["created_within_hours"] = []
        elif within:
            submitted["created_after"] = submitted["created_before"] = []
        return submitted

    def clean(self) -> dict[str, object]:
        self.query, errors = ExecutionQuery.from_params(self._submitted())
        for name, messages in errors.items():
            for message in messages:
                self.add_error(name, message)
        return self.cleaned_data

    def to_query(self) -> ExecutionQuery:
        return self.query

    @property
    def pasted_execution_id(self) -> str | None:
        """A search box holding exactly one execution id means 'open it'."""
        if not self.is_valid():
            return None
        text = self.query.text or ""
        return text.lower() if is_execution_id(text) else None

    @property
    def id_prefix(self) -> str | None:
        """A search box holding the start of an id (8 hex digits or more) means 'find it by id'."""
        if not self.is_valid():
            return None
        return id_prefix(self.query.text or "")


def no_control_characters(value: str) -> str:
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in value):
        raise forms.ValidationError("The text cannot contain control characters.")
    return value
