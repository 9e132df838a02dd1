"""The audit log's filters: the same ones for the page and both exports."""

from __future__ import annotations

from django import forms

from executions.audit.selectors import AuditFilters, AuditOutcome
from executions.browse.forms import UTCDateTimeField, no_control_characters
from executions.browse.query import EXECUTION_ID_PATTERN
from executions.models import AuditAction


class AuditFilterForm(forms.Form):
    actor = forms.CharField(required=False, max_length=150, label="Actor (username)")
    execution_id = forms.RegexField(regex=rf"^\s*{EXECUTION_ID_PATTERN}\s*$", required=False, label="Execution id",
                                    error_messages={"invalid": "Not an execution id."})
    action = forms.ChoiceField(required=False, choices=[("", "Any action"), *AuditAction.choices], widget=forms.Select)
    outcome = forms.ChoiceField(required=False, choices=[("", "Any outcome"), *[(o.value, o.value.capitalize())
                                                                                 for o in AuditOutcome]],
                                widget=forms.Select)
    since = UTCDateTimeField(required=False, label="From")
    until = UTCDateTimeField(required=False, label="Until")
    batch_id = forms.UUIDField(required=False, label="Batch id")
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def clean_actor(self) -> str:
        return no_control_characters(self.cleaned_data.get("actor") or "").strip()

    def clean(self) -> dict[str, object]:
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] >= data["until"]:
            self.add_error("until", "Must be later than “from”.")
        return data

    def to_filters(self) -> AuditFilters:
        data = self.cleaned_data
        return AuditFilters(
            actor=data.get("actor") or "",
            execution_id=(data.get("execution_id") or "").strip().lower(),
            action=data.get("action") or "",
            outcome=data.get("outcome") or "",
            since=data.get("since"),
            until=data.get("until"),
            batch_id=data.get("batch_id"),
        )
