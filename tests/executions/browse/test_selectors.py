"""Name resolution (refs_resolve): parallel lookups, what is cached and what is not."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
from django.core.cache import cache as django_cache

from executions.browse import selectors
from executions.upstream.cache import ReadKind, cache_key
from tests.helpers import reset_calls, sim_cannot_filter_on, sim_execution, sim_executions, sim_get, upstream_calls

pytestmark = pytest.mark.django_db


def test_missing_names_are_fetched_in_parallel(monkeypatch):
    """Each lookup waits for all the others: one after another, the first would wait forever (and fail)."""
    wanted = 4
    barrier = threading.Barrier(wanted, timeout=5)

    def lookup(ref_id: str) -> SimpleNamespace:
        barrier.wait()
        return SimpleNamespace(name=f"assistant {ref_id}", path=f"/docs/{ref_id}.pdf")

    client = SimpleNamespace(get_assistant=lookup, get_document_family=lookup)
    monkeypatch.setattr(selectors, "kodexa_client", lambda: client)
    refs = selectors.refs_resolve(assistant_ids=["a1", "a2"], family_ids=["f1", "f2"])
    assert {ref_id: ref.display for ref_id, ref in refs.items()} == {
        "a1": "assistant a1", "a2": "assistant a2", "f1": "/docs/f1.pdf", "f2": "/docs/f2.pdf",
    }


def test_names_are_cached(kodexa):
    assistant = sim_get(kodexa, "/api/assistants")["content"][0]
    assert selectors.refs_resolve(assistant_ids=[assistant["id"]], family_ids=[])[assistant["id"]].label == \
        assistant["name"]
    reset_calls(kodexa)
    assert selectors.refs_resolve(assistant_ids=[assistant["id"]], family_ids=[])[assistant["id"]].known
    assert upstream_calls(kodexa) == 0


def test_a_404_is_remembered_as_unknown(kodexa):
    missing = "0f6c1e9a-3a7d-4c1e-9f0e-2b8f6d7a1c42"
    ref = selectors.refs_resolve(assistant_ids=[missing], family_ids=[])[missing]
    assert (ref.known, ref.unavailable) == (False, False)
    reset_calls(kodexa)
    assert not selectors.refs_resolve(assistant_ids=[missing], family_ids=[])[missing].known
    assert upstream_calls(kodexa) == 0


def test_an_outage_marks_names_unavailable_and_is_not_cached(kodexa):
    family = sim_get(kodexa, "/api/document-families")["content"][0]
    kodexa.control.add_fault("GET /api/document-families/*", status=503, times=-1)
    ref = selectors.refs_resolve(assistant_ids=[], family_ids=[family["id"]])[family["id"]]
    assert (ref.known, ref.unavailable) == (False, True)
    kodexa.control.clear_faults()
    # An outage is remembered only for the failure memory (seconds, not like a 404), so it has passed:
    django_cache.delete(cache_key(ReadKind.FAMILY_PATH, {"id": family["id"]}) + ":fail")
    ref = selectors.refs_resolve(assistant_ids=[], family_ids=[family["id"]])[family["id"]]
    assert ref.known and ref.label == family["path"]


def test_an_unavailable_name_does_not_claim_kodexa_forgot_it(bob_client, kodexa):
    execution = sim_execution(kodexa, "status:'SUCCEEDED'")
    kodexa.control.add_fault("GET /api/assistants/*", status=503, times=-1)
    body = bob_client.get(f"/executions/{execution['id']}/").content.decode()
    assert "(name unavailable)" in body
    assert "Kodexa does not know this assistant" not in body


def test_the_kept_copy_of_one_executions_children_is_never_shown_for_another(kodexa):
    """A child list's last good copy is kept per parent: while Kodexa fails, another parent's children (or the
    whole list) must not be shown as this one's."""
    from executions.kodexa import KodexaServerError

    if sim_cannot_filter_on(kodexa, "parentExecutionId"):
        pytest.skip("SKIPPED: this strict tenant has no child lists to keep (tests/system/test_strict_tenants.py "
                    "covers what the page says instead)")
    parents = [p for p in sim_executions(kodexa) if not p.get("parentExecutionId")][:2]
    first = selectors.execution_children(execution_id=parents[0]["id"])
    assert first.stale is None
    selectors.execution_list(query=first.query.__class__(page_size=50, sort="createdOn,asc"))
    kodexa.control.add_fault("GET /api/executions", status=500, times=-1)
    with pytest.raises(KodexaServerError):
        selectors.execution_children(execution_id=parents[1]["id"])
    stale = selectors.execution_children(execution_id=parents[0]["id"])
    assert stale.stale is not None and [r.execution.id for r in stale.rows] == [r.execution.id for r in first.rows]
