"""Forms validate browser input before anything reaches Kodexa: a bad value is a form error, not an
upstream request the API would answer with a 500."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from django import forms
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from executions.browse.query import (
    DEFAULT_PAGE_SIZE,
    DEFAULT_SORT,
    FILTERABLE_STATUSES,
    PAGE_SIZE_CHOICES,
    SORT_CHOICES,
    ExecutionQuery,
    is_execution_id,
)
from executions.kodexa import Assistant, ExecutionStatus

MAX_TEXT = 200
MAX_PAGE = 10_000


# Four-digit years only (strftime writes year 1 as "1", which no date input reads back), with a day to spare
# at the top so the value can still be shown in any time zone.
EARLIEST_DATETIME = datetime(1000, 1, 1, tzinfo=UTC)
LATEST_DATETIME = datetime(9998, 12, 31, 23, 59, 59, tzinfo=UTC)


class UTCDateTimeField(forms.DateTimeField):
    """The inputs are labelled UTC, so a naive value is UTC whatever the server's time zone is. Every date
    filter of the panel (lists, audit log, saved views, widgets, dashboard files) is parsed here."""

    input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]
    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    default_error_messages = {
        "out_of_range": f"Enter a date between {EARLIEST_DATETIME:%Y-%m-%d} and {LATEST_DATETIME:%Y-%m-%d} (UTC).",
    }

    def to_python(self, value: object) -> object:
        with timezone.override(UTC):
            parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            utc = parsed.astimezone(UTC)
        except OverflowError:  # an offset pushes it past year 1 or 9999
            utc = None
        if utc is None or not EARLIEST_DATETIME <= utc <= LATEST_DATETIME:
            raise forms.ValidationError(self.error_messages["out_of_range"], code="out_of_range")
        return utc


class PlainSelect(forms.Select):
    """A select written in Python rather than through Django's widget templates, which include a template per
    option (and one more for its attributes): about 20 µs an option, on the page support staff reload most,
    with a select listing every assistant of the tenant. Flat choices only (no option groups)."""

    def render(self, name: str, value: object, attrs: dict[str, object] | None = None,
               renderer: object = None) -> SafeString:
        chosen = set(self.format_value(value))
        options = "".join(
            f'<option value="{escape(choice)}"{" selected" if str(choice) in chosen else ""}>{escape(label)}</option>'
            for choice, label in self.choices
        )
        return format_html('<select name="{}"{}>{}</select>', name, flatatt(self.build_attrs(self.attrs, attrs)),
                           mark_safe(options))  # noqa: S308 (every value above went through escape)


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
    sort = forms.ChoiceField(choices=SORT_CHOICES, required=False, initial=DEFAULT_SORT, widget=PlainSelect)
    page_size = forms.TypedChoiceField(
        choices=[(n, str(n)) for n in PAGE_SIZE_CHOICES], coerce=int, required=False, empty_value=None,
        initial=DEFAULT_PAGE_SIZE, label="Per page", widget=PlainSelect,
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=MAX_PAGE, widget=forms.HiddenInput)

    def __init__(self, data: Mapping[str, object] | None = None, *, assistants: Iterable[Assistant] = (),
                 **kwargs: object) -> None:
        super().__init__(data, **kwargs)
        self.offer_assistants(assistants)
        self.fields["q"].widget.attrs.update(
            {"placeholder": "Search descriptions, or paste an execution id", "data-search": "", "type": "search"}
        )

    @property
    def status_options(self) -> list[tuple[str, str, bool]]:
        """(value, label, checked) for the status checkboxes, which the list page renders by hand: ten widget
        templates per page view cost more than the rest of the form."""
        chosen = set(self.data.getlist("status")) if hasattr(self.data, "getlist") else set()
        return [(value, label, value in chosen) for value, label in self.fields["status"].choices]

    def offer_assistants(self, assistants: Iterable[Assistant]) -> None:
        """Fill the assistant select; validation does not need it, so a page can load the list in parallel."""
        known = [(a.id, a.display_name) for a in sorted(assistants, key=lambda a: a.display_name.lower())]
        self.fields["assistant"].widget = PlainSelect(choices=[("", "All assistants"), *known])

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


def no_control_characters(value: str) -> str:
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in value):
        raise forms.ValidationError("The text cannot contain control characters.")
    return value
