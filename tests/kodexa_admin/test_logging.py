"""JSON logs: one object per line, each with the id of the request that caused it, and never the API key."""

from __future__ import annotations

import logging

import pytest

from tests.helpers import json_log

pytestmark = pytest.mark.django_db


def test_each_record_is_one_json_object_per_line_with_a_request_id(bob_client, kodexa):
    with json_log() as log:
        response = bob_client.get("/executions/")
        # Outside any request; a newline and a traceback must not split the record over several lines.
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("tests.logging").exception("two\nlines")
    assert response.status_code == 200
    records = log.records()
    assert len(records) == log.text.count("\n") >= 2
    for record in records:
        assert {"time", "level", "logger", "message", "request_id"} <= record.keys(), record
    assert any(r["logger"] == "executions.kodexa" for r in records), records  # the upstream call's line
    outside = records[-1]
    assert outside["message"] == "two\nlines" and "ValueError: boom" in outside["exc_info"]
    assert outside["request_id"] == "-"


def test_every_line_of_a_request_carries_its_response_request_id(bob_client, kodexa):
    """Including Django's own "Bad Gateway: /path" line, which it writes after the middleware has returned."""
    kodexa.control.add_fault("GET /api/executions", status=500, times=10)
    with json_log() as log:
        response = bob_client.get("/executions/")
    assert response.status_code == 502
    records = log.records()
    loggers = {r["logger"] for r in records}
    assert {"executions.kodexa", "executions.upstream", "django.request"} <= loggers, records
    assert {r["request_id"] for r in records} == {response["X-Request-ID"]}, records


def test_a_client_supplied_request_id_is_the_one_logged(bob_client, kodexa):
    with json_log() as log:
        response = bob_client.get("/executions/", headers={"X-Request-ID": "lb-trace-0001"})
    assert response["X-Request-ID"] == "lb-trace-0001"
    assert {r["request_id"] for r in log.records()} == {"lb-trace-0001"}


def test_the_api_key_never_reaches_the_logs_of_an_upstream_call(bob_client, kodexa, settings):
    """Every level, every logger (urllib3's debug lines included) and every extra field, success and failure."""
    assert kodexa.api_key == settings.KODEXA_API_KEY and len(kodexa.api_key) > 8
    with json_log(logging.DEBUG) as log:
        ok = bob_client.get("/executions/")
        kodexa.control.add_fault("GET /api/executions", status=500, times=10)
        failed = bob_client.get("/executions/?status=FAILED")  # not seen before: no last good copy to show
    assert (ok.status_code, failed.status_code) == (200, 502)
    upstream = [r for r in log.records() if r["logger"] == "executions.kodexa"]
    assert len(upstream) >= 2 and all("upstream_route" in r for r in upstream), upstream
    assert kodexa.api_key not in log.text


def test_an_unsafe_client_request_id_never_reaches_the_logs(bob_client, kodexa):
    with json_log() as log:
        response = bob_client.get("/executions/", headers={"X-Request-ID": 'x"}\n{"level": "forged"'})
    assert response["X-Request-ID"] != 'x"}\n{"level": "forged"'
    assert "forged" not in log.text
    assert {r["request_id"] for r in log.records()} == {response["X-Request-ID"]}
