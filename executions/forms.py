"""Forms validate browser input before anything reaches Kodexa: a bad value is a form error, not an
upstream request the API would answer with a 500."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC

from django import forms
from django.utils import timezone

from executions.kodexa import Assistant, ExecutionStatus
from executions.queries import (
    DEFAULT_PAGE_SIZE,
    DEFAULT_SORT,
    FILTERABLE_STATUSES,
    PAGE_SIZE_CHOICES,
    SORT_CHOICES,
    ExecutionQuery,
    is_execution_id,
)

MAX_TEXT = 200
MAX_PAGE = 10_000


class UTCDateTimeField(forms.DateTimeField):
    """The inputs are labelled UTC, so a naive value is UTC whatever the server's time zone is."""

    input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]
    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

    def to_python(self, value: object) -> object:
        with timezone.override(UTC):
            parsed = super().to_python(value)
        return parsed.astimezone(UTC) if parsed is not None else None


class ExecutionFilterForm(forms.Form):
    status = forms.MultipleChoiceField(
        choices=[(s.value, s.label) for s in FILTERABLE_STATUSES], required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    # A select of known assistants, but any well-formed id is accepted: the assistant list may be
    # unavailable, or a shared link may name an assistant that has since been deleted.
    assistant = forms.RegexField(regex=r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$", required=False,
                                 error_messages={"invalid": "Not a valid assistant id."})
    q = forms.CharField(required=False, max_length=MAX_TEXT, strip=True, label="Search")
    created_after = UTCDateTimeField(required=False, label="Created after (UTC)")
    created_before = UTCDateTimeField(required=False, label="Created before (UTC)")
    created_within_hours = forms.IntegerField(required=False, min_value=1, max_value=24 * 366,
                                              widget=forms.HiddenInput)
    sort = forms.ChoiceField(choices=SORT_CHOICES, required=False, initial=DEFAULT_SORT)
    page_size = forms.TypedChoiceField(
        choices=[(n, str(n)) for n in PAGE_SIZE_CHOICES], coerce=int, required=False, empty_value=None,
        initial=DEFAULT_PAGE_SIZE, label="Per page",
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=MAX_PAGE, widget=forms.HiddenInput)

    def __init__(self, data: Mapping[str, object] | None = None, *, assistants: Iterable[Assistant] = (),
                 **kwargs: object) -> None:
        super().__init__(data, **kwargs)
        known = [(a.id, a.display_name) for a in sorted(assistants, key=lambda a: a.display_name.lower())]
        self.fields["assistant"].widget = forms.Select(choices=[("", "All assistants"), *known])
        self.fields["q"].widget.attrs.update(
            {"placeholder": "Search descriptions, or paste an execution id", "data-search": "", "type": "search"}
        )

    def clean_q(self) -> str:
        value = self.cleaned_data.get("q") or ""
        if any(ord(ch) < 32 for ch in value):
            raise forms.ValidationError("Search text cannot contain control characters.")
        return value

    def clean(self) -> dict[str, object]:
        data = super().clean()
        after, before = data.get("created_after"), data.get("created_before")
        if after and before and after >= before:
            self.add_error("created_before", "Must be later than “created after”.")
        return data

    def to_query(self) -> ExecutionQuery:
        data = self.cleaned_data
        return ExecutionQuery(
            statuses=tuple(ExecutionStatus(s) for s in data.get("status") or ()),
            assistant_id=data.get("assistant") or None,
            text=data.get("q") or None,
            created_after=data.get("created_after"),
            created_before=data.get("created_before"),
            created_within_hours=data.get("created_within_hours"),
            sort=data.get("sort") or DEFAULT_SORT,
            page=data.get("page") or 1,
            page_size=data.get("page_size") or DEFAULT_PAGE_SIZE,
        )

    @property
    def pasted_execution_id(self) -> str | None:
        """A search box holding exactly one execution id means 'open it'."""
        if not self.is_valid():
            return None
        text = (self.cleaned_data.get("q") or "").strip()
        return text.lower() if is_execution_id(text) else None
