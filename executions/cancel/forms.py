"""The cancel forms: a reason that will stay in the audit log, and the selection of a bulk cancel."""

from __future__ import annotations

from collections.abc import Mapping

from django import forms

from executions.browse.forms import no_control_characters
from executions.browse.query import is_execution_id
from executions.cancel.services import MAX_BATCH, CancelReason, ReasonCategory, cancel_token_new

TOKEN_PATTERN = r"^[A-Za-z0-9_-]{16,64}$"  # noqa: S105 (a pattern, not a secret)


class CancelForm(forms.Form):
    """A cancel needs a reason: a sentence that will stay in the audit log, and a category.

    The documented form names only `reason`: a script that posts just that gets category
    "other" and a fresh token (so no replay protection, which only a rendered form can give).
    """

    reason_category = forms.ChoiceField(
        label="Why", choices=[(c.value, c.label) for c in ReasonCategory], initial=ReasonCategory.STUCK,
        required=False, widget=forms.Select,
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

    def clean_reason(self) -> str:
        return no_control_characters(self.cleaned_data["reason"])

    def clean_token(self) -> str:
        return self.cleaned_data.get("token") or cancel_token_new()

    def to_reason(self) -> CancelReason:
        return CancelReason(category=ReasonCategory(self.cleaned_data.get("reason_category") or ReasonCategory.OTHER),
                            text=self.cleaned_data["reason"])


class BulkSelectionForm(forms.Form):
    """The ids ticked on the list: at most MAX_BATCH, each a well-formed execution id."""

    ids = forms.MultipleChoiceField(required=True, error_messages={"required": "Select at least one execution."})

    def clean_ids(self) -> list[str]:
        ids = list(dict.fromkeys(i.strip().lower() for i in self.cleaned_data["ids"]))
        if len(ids) > MAX_BATCH:
            raise forms.ValidationError(f"At most {MAX_BATCH} executions can be cancelled at once.")
        if bad := [i for i in ids if not is_execution_id(i)]:
            raise forms.ValidationError(f"Not an execution id: {bad[0][:80]}")
        return ids

    def __init__(self, data: Mapping[str, object] | None = None, **kwargs: object) -> None:
        super().__init__(data, **kwargs)
        # Any value may be submitted; clean_ids() is the real check.
        submitted = data.getlist("ids") if data is not None and hasattr(data, "getlist") else []
        self.fields["ids"].choices = [(i, i) for i in submitted]


class BulkCancelForm(BulkSelectionForm, CancelForm):
    """The confirmation: the same reason for every item, and the count typed out for large batches."""

    TYPED_CONFIRMATION_ABOVE = 10
    confirm_count = forms.IntegerField(required=False, label="Type the number of executions to confirm")

    def clean(self) -> dict[str, object]:
        data = super().clean()
        ids = data.get("ids") or []
        if len(ids) > self.TYPED_CONFIRMATION_ABOVE and data.get("confirm_count") != len(ids):
            self.add_error("confirm_count", f"Type {len(ids)} to confirm cancelling {len(ids)} executions.")
        return data
