"""The reprocess form: a reason that will stay in the audit log, and the assistants to run again."""

from __future__ import annotations

from collections.abc import Sequence

from django import forms

from executions.browse.forms import no_control_characters
from executions.cancel.forms import TOKEN_PATTERN
from executions.cancel.services import cancel_token_new
from executions.kodexa import Assistant
from executions.reprocess.services import ReprocessCategory, ReprocessReason


class ReprocessForm(forms.Form):
    """The category has no preset: whoever reprocesses says why. Only the assistants offered may be chosen."""

    reason_category = forms.ChoiceField(
        label="Why", choices=[("", "Choose a reason…"), *((c.value, c.label) for c in ReprocessCategory)],
        error_messages={"required": "Choose why the document is reprocessed."},
    )
    reason = forms.CharField(
        label="Reason (kept in the audit log)", min_length=3, max_length=500, strip=True,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "e.g. OCR outage fixed at 14:10; ticket 4711"}),
    )
    assistants = forms.MultipleChoiceField(
        label="Run again with", widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one assistant.",
                        "invalid_choice": "Choose among the assistants offered."},
    )
    confirm_repeat = forms.BooleanField(required=False, widget=forms.HiddenInput)
    token = forms.RegexField(regex=TOKEN_PATTERN, widget=forms.HiddenInput, required=False,
                             error_messages={"invalid": "This form has expired; reload the page and try again."})

    def __init__(self, *args: object, options: Sequence[Assistant] = (), **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assistants"].choices = [(a.id, a.display_name) for a in options]

    def clean_reason(self) -> str:
        return no_control_characters(self.cleaned_data["reason"])

    def clean_token(self) -> str:
        return self.cleaned_data.get("token") or cancel_token_new()

    def to_reason(self) -> ReprocessReason:
        return ReprocessReason(category=ReprocessCategory(self.cleaned_data["reason_category"]),
                               text=self.cleaned_data["reason"])
