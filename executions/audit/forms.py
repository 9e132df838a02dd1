"""The audit log's filters: the same ones for the page and both exports."""

from __future__ import annotations

import re

from django import forms
from django.contrib.auth.base_user import AbstractBaseUser

from executions.audit.selectors import AuditFilters, AuditOutcome
from executions.browse.forms import UTCDateTimeField, no_control_characters
from executions.browse.query import is_execution_id
from executions.models import AuditAction

SHORT_ID_MIN = 8  # hex characters: the short id the pages show
# The start of an execution id as the pages show it: hex digits, with the UUID's dashes where they belong.
_ID_PREFIX = re.compile(r"^[0-9a-f]{1,8}(-[0-9a-f]{0,4}(-[0-9a-f]{0,4}(-[0-9a-f]{0,4}(-[0-9a-f]{0,12})?)?)?)?$")


def clean_execution_id_or_prefix(text: str) -> str:
    """A whole execution id, or its first characters (at least SHORT_ID_MIN hex digits), lower case."""
    value = text.strip().lower()
    if not value or is_execution_id(value):
        return value
    if not _ID_PREFIX.match(value):
        raise forms.ValidationError("Not an execution id: use the whole id or its first 8 characters or more.")
    if sum(ch != "-" for ch in value) < SHORT_ID_MIN:
        raise forms.ValidationError(f"Type at least {SHORT_ID_MIN} characters of the id (or the whole id).")
    return value


class AuditFilterForm(forms.Form):
    # Set by the "My actions" quick filter (a link), kept by the filter form.
    mine = forms.BooleanField(required=False, widget=forms.HiddenInput)
    actor = forms.CharField(required=False, max_length=150, label="Actor (username)")
    execution_id = forms.CharField(required=False, max_length=36, label="Execution id",
                                   widget=forms.TextInput(attrs={"placeholder": "e.g. 0f6c1e9a"}),
                                   error_messages={"max_length": "Not an execution id: it is too long."})
    action = forms.ChoiceField(required=False, choices=[("", "Any action"), *AuditAction.choices], widget=forms.Select)
    outcome = forms.ChoiceField(required=False, choices=[("", "Any outcome"), *[(o.value, o.value.capitalize())
                                                                                 for o in AuditOutcome]],
                                widget=forms.Select)
    since = UTCDateTimeField(required=False, label="From")
    until = UTCDateTimeField(required=False, label="Until")
    batch_id = forms.UUIDField(required=False, label="Batch id")
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: object, can_see_all: bool = True, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.can_see_all = can_see_all
        if not can_see_all:
            # Someone without the audit permission sees their own events only: no other actor to choose.
            del self.fields["actor"]
            del self.fields["mine"]

    def clean_execution_id(self) -> str:
        return clean_execution_id_or_prefix(self.cleaned_data.get("execution_id") or "")

    def clean_actor(self) -> str:
        return no_control_characters(self.cleaned_data.get("actor") or "").strip()

    def clean(self) -> dict[str, object]:
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] >= data["until"]:
            self.add_error("until", "Must be later than “from”.")
        return data

    def to_filters(self, *, user: AbstractBaseUser | None = None) -> AuditFilters:
        """The filters; "my actions" (forced without the audit permission) keeps `user`'s own events only."""
        data = self.cleaned_data
        mine = not self.can_see_all or bool(data.get("mine"))
        if mine and user is None:
            raise ValueError("'my actions' needs the user")
        return AuditFilters(
            mine_of=user.pk if mine and user is not None else None,
            actor=data.get("actor") or "",
            execution_id=data.get("execution_id") or "",
            action=data.get("action") or "",
            outcome=data.get("outcome") or "",
            since=data.get("since"),
            until=data.get("until"),
            batch_id=data.get("batch_id"),
        )
