"""The cancel forms: a reason that will stay in the audit log, and the selection of a bulk cancel."""

from __future__ import annotations

from collections.abc import Mapping

from django import forms
from django.http import QueryDict

from executions.browse.forms import no_control_characters
from executions.browse.query import ExecutionQuery, is_execution_id
from executions.cancel.services import MAX_BATCH, CancelReason, ReasonCategory, cancel_token_new

CATEGORY_PROMPT = "Choose a reason…"
TOKEN_PATTERN = r"^[A-Za-z0-9_-]{16,64}$"  # noqa: S105 (a pattern, not a secret)


class CancelForm(forms.Form):
    """A cancel needs a reason: a sentence that will stay in the audit log, and a category.

    The category is never preset: the rendered form offers an empty "Choose a reason…" first and a submit that
    leaves it empty is refused. The documented form names only `reason`: a script that posts just that (no
    category field at all) gets category "other" and a fresh token (so no replay protection, which only a rendered
    form can give).
    """

    reason_category = forms.ChoiceField(
        label="Why", choices=[("", CATEGORY_PROMPT), *[(c.value, c.label) for c in ReasonCategory]],
        required=False, widget=forms.Select(attrs={"required": True}),
    )
    reason = forms.CharField(
        label="Reason (kept in the audit log)", min_length=3, max_length=500, strip=True,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "e.g. Stuck at OCR for 3 hours; customer asked"}),
    )
    token = forms.RegexField(regex=TOKEN_PATTERN, widget=forms.HiddenInput, required=False,
                             error_messages={"invalid": "This form has expired; reload the page and try again."})
    # Offered where the user may reprocess and the execution has a document and an assistant.
    then_reprocess = forms.BooleanField(required=False,
                                        label="Then reprocess the document with the same assistant, once stopped")

    def clean_reason_category(self) -> str:
        value = self.cleaned_data.get("reason_category") or ""
        if value:
            return value
        # Present but empty: the rendered form, submitted without a choice.
        if self.data is not None and "reason_category" in self.data:
            raise forms.ValidationError("Choose a reason for the cancel.")
        return ReasonCategory.OTHER.value

    def clean_reason(self) -> str:
        return no_control_characters(self.cleaned_data["reason"])

    def clean_token(self) -> str:
        return self.cleaned_data.get("token") or cancel_token_new()

    def to_reason(self) -> CancelReason:
        return CancelReason(category=ReasonCategory(self.cleaned_data["reason_category"]),
                            text=self.cleaned_data["reason"])


class BulkSelectionForm(forms.Form):
    """What a bulk cancel is about: the ids ticked on the list (at most MAX_BATCH, each a well-formed execution id),
    or, with `scope=matching` or no ids, every cancellable execution the list's filters select (`matching`, the
    list's querystring; capped at MAX_BATCH). With ids, `matching` only keeps the list's filters for "Back"."""

    ids = forms.MultipleChoiceField(required=False)
    matching = forms.CharField(required=False, max_length=4000, widget=forms.HiddenInput)
    scope = forms.ChoiceField(required=False, choices=[("", "ticked"), ("matching", "matching")],
                              widget=forms.HiddenInput)

    def clean_ids(self) -> list[str]:
        ids = list(dict.fromkeys(i.strip().lower() for i in self.cleaned_data["ids"]))
        if len(ids) > MAX_BATCH:
            raise forms.ValidationError(f"At most {MAX_BATCH} executions at once.")
        if bad := [i for i in ids if not is_execution_id(i)]:
            raise forms.ValidationError(f"Not an execution id: {bad[0][:80]}")
        return ids

    def clean_matching(self) -> ExecutionQuery | None:
        text = self.cleaned_data.get("matching") or ""
        if not text.strip():
            return None
        query, errors = ExecutionQuery.from_params(QueryDict(text.lstrip("?")))
        if errors:
            name, messages = next(iter(errors.items()))
            raise forms.ValidationError(f"The list's filters are not valid ({name}: {messages[0]}).")
        return query

    def clean(self) -> dict[str, object]:
        data = super().clean()
        if self.errors:
            return data
        data["by_query"] = data.get("matching") is not None and (data.get("scope") == "matching"
                                                                 or not data.get("ids"))
        if not data["by_query"] and not data.get("ids"):
            raise forms.ValidationError("Select at least one execution.")
        return data

    @property
    def query(self) -> ExecutionQuery | None:
        """The list's filters, when they came along (valid forms only)."""
        return self.cleaned_data.get("matching") if hasattr(self, "cleaned_data") else None

    def __init__(self, data: Mapping[str, object] | None = None, **kwargs: object) -> None:
        super().__init__(data, **kwargs)
        # Any value may be submitted; clean_ids() is the real check.
        submitted = data.getlist("ids") if data is not None and hasattr(data, "getlist") else []
        initial = kwargs.get("initial")
        initial_ids = initial.get("ids", []) if isinstance(initial, Mapping) else []
        self.fields["ids"].choices = [(i, i) for i in [*submitted, *initial_ids]]


class BulkCancelForm(BulkSelectionForm, CancelForm):
    """The confirmation: the same reason for every item, and the count typed out for large batches."""

    TYPED_CONFIRMATION_ABOVE = 10
    confirm_count = forms.IntegerField(required=False, label="Type the number of executions to confirm")
    # How many matched when the selection came from the list's filters (more than MAX_BATCH: the page says so).
    matched = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def clean(self) -> dict[str, object]:
        data = super().clean()
        ids = data.get("ids") or []
        if len(ids) > self.TYPED_CONFIRMATION_ABOVE and data.get("confirm_count") != len(ids):
            self.add_error("confirm_count", f"Type {len(ids)} to confirm cancelling {len(ids)} executions.")
        return data
