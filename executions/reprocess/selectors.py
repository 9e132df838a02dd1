"""What a reprocess started: the document family's executions created since the request."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from executions.kodexa import After, Equals, Execution, ExecutionField
from executions.upstream.tenant import tenant_list_executions

# Kodexa's clock and ours differ a little; an execution of the same document and assistant created this long before
# the request is still taken for one the request started (the original one is excluded by id).
CLOCK_SLACK = timedelta(seconds=30)
FOLLOWUPS_READ = 20


def reprocess_followups(*, family_id: str, since: datetime, assistant_ids: Iterable[str],
                        replaced_id: str = "") -> tuple[Execution, ...]:
    """The executions of the family with one of these assistants created since `since`, oldest first: one read."""
    wanted = set(assistant_ids)
    page = tenant_list_executions(
        page_size=FOLLOWUPS_READ, sort=("createdOn,asc",),
        filters=[Equals(ExecutionField.DOCUMENT_FAMILY_ID, family_id),
                 After(ExecutionField.CREATED_ON, since - CLOCK_SLACK)])
    return tuple(e for e in page.items if e.assistant_id in wanted and e.id != replaced_id)
