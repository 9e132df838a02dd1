"""/metrics: protected, Prometheus text format, bounded labels; and what feeds it (Kodexa calls, the breaker,
cache reads, audit events, request latency)."""

from __future__ import annotations

import re

import pytest
from django.core.checks import run_checks
from django.test import Client, override_settings
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from executions.audit.chain import audit_event_append
from executions.audit.models import AuditAction
from executions.kodexa import KodexaClient, KodexaNotFound, KodexaServerError
from executions.upstream import cache as upstream_cache
from executions.upstream import circuit
from executions.upstream.cache import ReadKind

pytestmark = pytest.mark.django_db
TOKEN = "metrics-token-" + "x" * 40
ID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-")


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(client: Client | None = None, **extra: str) -> str:
    response = (client or Client()).get("/metrics", **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return response.content.decode()


# --- access ------------------------------------------------------------------------------------------------

def test_loopback_may_scrape_in_the_prometheus_text_format():
    text = scrape()
    names = {family.name for family in text_string_to_metric_families(text)}
    assert {"kodexa_admin_kodexa_calls", "kodexa_admin_cache_reads", "kodexa_admin_audit_events",
            "kodexa_admin_request_seconds", "kodexa_admin_circuit_state"} <= names


@pytest.mark.parametrize("extra", [
    {"REMOTE_ADDR": "198.51.100.7"},
    {"REMOTE_ADDR": "198.51.100.7", "HTTP_AUTHORIZATION": "Bearer wrong"},
    {"REMOTE_ADDR": "198.51.100.7", "HTTP_AUTHORIZATION": f"Basic {TOKEN}"},
    # Relayed by a proxy the panel was not told about: loopback says nothing about who is asking.
    {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "198.51.100.7"},
    {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "127.0.0.1"},
])
def test_others_are_refused(settings, extra):
    settings.METRICS_TOKEN = TOKEN
    response = Client().get("/metrics", **extra)
    assert response.status_code == 403
    assert b"kodexa_admin_" not in response.content


def test_the_bearer_token_lets_any_address_in(settings):
    settings.METRICS_TOKEN = TOKEN
    scrape(REMOTE_ADDR="198.51.100.7", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")


def test_without_a_token_set_no_bearer_is_accepted(settings):
    settings.METRICS_TOKEN = ""
    assert Client().get("/metrics", REMOTE_ADDR="198.51.100.7", HTTP_AUTHORIZATION="Bearer ").status_code == 403


def test_behind_a_trusted_proxy_the_client_address_decides(settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    settings.METRICS_ALLOWED_NETWORKS = ["10.9.0.0/16"]
    scrape(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.9.8.7")  # Prometheus, through nginx
    assert Client().get("/metrics", REMOTE_ADDR="127.0.0.1",
                        HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 403  # someone else, through nginx
    assert Client().get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403  # nginx itself is not allowed


@pytest.mark.parametrize(("setting", "bad", "check_id"), [
    ("METRICS_ALLOWED_NETWORKS", ["127.0.0.1", "localhost"], "kodexa_admin.E003"),
    ("METRICS_ALLOWED_NETWORKS", ["0.0.0.0/0"], "kodexa_admin.E004"),
    ("METRICS_TOKEN", "short", "kodexa_admin.E005"),
    ("METRICS_TOKEN", "x" * 20 + " " + "y" * 20, "kodexa_admin.E005"),
])
def test_bad_metrics_settings_are_system_check_errors(setting, bad, check_id):
    with override_settings(**{setting: bad}):
        assert check_id in [m.id for m in run_checks()]


# --- what is counted -----------------------------------------------------------------------------------------

def test_kodexa_calls_are_counted_by_route_template_never_by_id(bob_client, kodexa):
    execution_id = kodexa.control.add_execution(status="RUNNING")["id"]
    labels = {"route": "/api/executions/{id}", "method": "GET"}
    before = value("kodexa_admin_kodexa_calls_total", **labels, outcome="200")
    before_seconds = value("kodexa_admin_kodexa_call_seconds_count", **labels)
    assert bob_client.get(f"/executions/{execution_id}/").status_code == 200
    assert value("kodexa_admin_kodexa_calls_total", **labels, outcome="200") == before + 1
    assert value("kodexa_admin_kodexa_call_seconds_count", **labels) == before_seconds + 1
    missing = "00000000-0000-4000-8000-000000000000"
    before_404 = value("kodexa_admin_kodexa_calls_total", **labels, outcome="404")
    bob_client.get(f"/executions/{missing}/")
    assert value("kodexa_admin_kodexa_calls_total", **labels, outcome="404") == before_404 + 1
    text = scrape()
    assert execution_id not in text and missing not in text and not ID_PATTERN.search(text)
    assert "bob" not in text


def test_the_clients_hook_sees_every_call_without_django_or_prometheus(sim):
    seen: list[tuple] = []
    client = KodexaClient(sim.url, sim.api_key, on_call=lambda *call: seen.append(call))
    sim.control.add_fault("GET /api/account/me", status=503, times=1)
    client.get_account()  # 503 once, retried: one call, one retry
    with pytest.raises(KodexaNotFound):
        client.get_execution("00000000-0000-4000-8000-000000000000")
    assert [call[:4] for call in seen] == [("GET", "/api/account/me", 200, None),
                                           ("GET", "/api/executions/{id}", 404, "KodexaNotFound")]
    assert seen[0][5] == 1 and seen[1][5] == 0 and all(call[4] > 0 for call in seen)


@pytest.mark.parametrize(("status", "error", "outcome"), [
    (200, None, "200"), (404, "KodexaNotFound", "404"), (503, "KodexaServerError", "503"),
    (200, "KodexaBadResponse", "KodexaBadResponse"),  # a 200 with garbage for a body is not a success
    (None, "KodexaTimeout", "KodexaTimeout"), (None, "KodexaConnectionError", "KodexaConnectionError"),
])
def test_the_outcome_label(status, error, outcome):
    from kodexa_admin.metrics import record_kodexa_call

    labels = {"route": "/api/test/{id}", "method": "GET", "outcome": outcome}
    before = value("kodexa_admin_kodexa_calls_total", **labels)
    record_kodexa_call("GET", "/api/test/{id}", status, error, 0.01, 0)
    assert value("kodexa_admin_kodexa_calls_total", **labels) == before + 1


def test_a_broken_hook_never_breaks_the_call(sim):
    def broken(*call):
        raise RuntimeError("metrics are down")

    assert KodexaClient(sim.url, sim.api_key, on_call=broken).get_account()


def test_the_circuit_breaker_state_and_refusals(bob_client, kodexa):
    def states() -> dict[str, float]:
        family = next(f for f in text_string_to_metric_families(scrape()) if f.name == "kodexa_admin_circuit_state")
        return {s.labels["state"]: s.value for s in family.samples}

    assert states() == {"closed": 1, "failing": 0, "open": 0, "unknown": 0}
    for _ in range(circuit.FAILURE_THRESHOLD):
        circuit._record_failure()
    assert states()["open"] == 1 and states()["closed"] == 0
    before = value("kodexa_admin_circuit_refusals_total")
    bob_client.get("/executions/")
    assert value("kodexa_admin_circuit_refusals_total") > before


def test_cache_reads_by_hit_miss_stale_and_error(kodexa):
    kind = ReadKind.ASSISTANTS
    params = {"metrics-test": 1}
    counts = {r: value("kodexa_admin_cache_reads_total", kind=str(kind), result=r)
              for r in ("hit", "miss", "stale", "error")}

    def delta() -> dict[str, float]:
        return {r: value("kodexa_admin_cache_reads_total", kind=str(kind), result=r) - counts[r] for r in counts}

    upstream_cache.read(kind, params, lambda: ["a"])
    assert delta() == {"hit": 0, "miss": 1, "stale": 0, "error": 0}
    upstream_cache.read(kind, params, lambda: ["b"])
    assert delta() == {"hit": 1, "miss": 1, "stale": 0, "error": 0}

    def failing():
        raise KodexaServerError("down", status=503)

    upstream_cache.read(kind, params, failing, fresh_for=0)  # too old to serve as is; Kodexa fails: stale
    assert delta() == {"hit": 1, "miss": 1, "stale": 1, "error": 0}
    with pytest.raises(Exception):
        upstream_cache.read(kind, {"metrics-test": 2}, failing)
    assert delta() == {"hit": 1, "miss": 1, "stale": 1, "error": 1}


def test_audit_events_are_counted_by_action_and_outcome():
    labels = {"action": "cancel.denied", "kind": "cancel", "outcome": "denied"}
    before = value("kodexa_admin_audit_events_total", **labels)
    audit_event_append(action=AuditAction.CANCEL_DENIED, execution_id="00000000-0000-4000-8000-000000000001")
    assert value("kodexa_admin_audit_events_total", **labels) == before + 1


def test_request_latency_by_url_name_never_by_path(bob_client, kodexa):
    labels = {"view": "executions:detail", "method": "GET", "status": "2xx"}
    before = value("kodexa_admin_request_seconds_count", **labels)
    for _ in range(3):
        execution_id = kodexa.control.add_execution(status="RUNNING")["id"]
        bob_client.get(f"/executions/{execution_id}/")
    assert value("kodexa_admin_request_seconds_count", **labels) == before + 3
    bob_client.get("/no/such/page/")
    assert value("kodexa_admin_request_seconds_count", view="unmatched", method="GET", status="4xx") >= 1
    views = {s.labels["view"] for f in text_string_to_metric_families(scrape())
             if f.name == "kodexa_admin_request_seconds" for s in f.samples}
    assert all("/" not in view for view in views), views
