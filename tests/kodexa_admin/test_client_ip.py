"""One client address for the audit log, login throttling and the logs: X-Forwarded-For counts only when the
direct peer is a trusted proxy, read right to left past trusted hops."""

from __future__ import annotations

import logging

import pytest
from axes.models import AccessAttempt
from django.core.checks import run_checks
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

from executions.audit.chain import RequestMeta
from executions.audit.models import AuditAction, AuditEvent
from kodexa_admin.client_ip import client_ip, parse_networks, resolve
from tests.helpers import json_log

NGINX = "10.0.0.5"
PROXIES = parse_networks(["10.0.0.0/24", "fd00::/64"])


@pytest.mark.parametrize(("remote_addr", "forwarded_for", "expected"), [
    # An untrusted peer: the header is ignored, whatever it says.
    ("198.51.100.7", "203.0.113.9", "198.51.100.7"),
    ("198.51.100.7", "10.0.0.5, 127.0.0.1", "198.51.100.7"),
    # A trusted peer: the rightmost hop it did not itself vouch for is the client; what is left of it was
    # written by the client and may be forged.
    (NGINX, "203.0.113.9", "203.0.113.9"),
    (NGINX, "1.2.3.4, 203.0.113.9", "203.0.113.9"),
    (NGINX, "1.2.3.4, 203.0.113.9, 10.0.0.7", "203.0.113.9"),  # a second proxy hop is skipped
    (NGINX, "203.0.113.9,10.0.0.7 , 10.0.0.8", "203.0.113.9"),
    (NGINX, "10.0.0.7, 10.0.0.8", "10.0.0.7"),  # only proxies: the farthest one
    (NGINX, "", NGINX),
    (NGINX, None, NGINX),
    (NGINX, "garbage, 203.0.113.9", "203.0.113.9"),
    (NGINX, "203.0.113.9, unknown", NGINX),  # the hop a trusted proxy wrote is not an address: stop there
    (NGINX, "203.0.113.9:5555", "203.0.113.9"),
    (NGINX, "[2001:db8::1]:443", "2001:db8::1"),
    ("fd00::1", "2001:db8::2", "2001:db8::2"),
    ("::ffff:10.0.0.5", "203.0.113.9", "203.0.113.9"),  # a dual-stack socket's form of a trusted IPv4 peer
    ("fd00:0:0:1::1", "203.0.113.9", "fd00:0:0:1::1"),  # outside fd00::/64
    ("not an address", "203.0.113.9", None),
    (None, "203.0.113.9", None),
])
def test_resolve(remote_addr, forwarded_for, expected):
    assert resolve(remote_addr, forwarded_for, PROXIES) == expected


def test_without_trusted_proxies_the_header_never_counts():
    assert resolve("127.0.0.1", "203.0.113.9", ()) == "127.0.0.1"


def test_client_ip_of_a_request_uses_the_setting(settings):
    factory = RequestFactory()
    forged = factory.get("/", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert client_ip(forged) == "198.51.100.7"  # default: no trusted proxies
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    assert client_ip(factory.get("/", REMOTE_ADDR=NGINX, HTTP_X_FORWARDED_FOR="203.0.113.9")) == "203.0.113.9"
    assert RequestMeta.of(factory.get("/", REMOTE_ADDR=NGINX, HTTP_X_FORWARDED_FOR="203.0.113.9")).client_ip \
        == "203.0.113.9"
    assert client_ip(factory.get("/", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="203.0.113.9")) \
        == "198.51.100.7"


@pytest.mark.parametrize(("entries", "check_id"), [
    (["10.0.0.5", "nginx.internal"], "kodexa_admin.E001"),
    (["10.0.0.1/8"], "kodexa_admin.E001"),  # host bits set: a typo for 10.0.0.0/8 or for 10.0.0.1?
    (["10.0.0.0/33"], "kodexa_admin.E001"),
    (["0.0.0.0/0"], "kodexa_admin.E002"),
    (["::/0"], "kodexa_admin.E002"),
])
def test_a_bad_trusted_proxies_entry_is_a_system_check_error(entries, check_id):
    with override_settings(TRUSTED_PROXIES=entries):
        ids = [message.id for message in run_checks()]
    assert check_id in ids


def test_good_trusted_proxies_pass_the_checks():
    with override_settings(TRUSTED_PROXIES=["127.0.0.1", "10.0.0.0/24", "::1", "fd00::/64"]):
        assert not [m for m in run_checks() if m.id.startswith("kodexa_admin.")]


@pytest.mark.django_db
def test_a_forged_header_from_an_untrusted_peer_changes_nothing_in_the_audit_log(bob_client, kodexa, settings):
    settings.TRUSTED_PROXIES = [NGINX]
    execution_id = kodexa.control.add_execution(status="RUNNING")["id"]
    url = reverse("executions:cancel", args=[execution_id])
    form = {"reason_category": "stuck", "reason": "let me try", "token": "x" * 24}
    bob_client.post(url, form, REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="203.0.113.66")
    bob_client.post(url, form, REMOTE_ADDR=NGINX, HTTP_X_FORWARDED_FOR="203.0.113.66, 203.0.113.9")
    events = AuditEvent.objects.filter(execution_id=execution_id, action=AuditAction.CANCEL_DENIED).order_by("id")
    assert [e.client_ip for e in events] == ["198.51.100.7", "203.0.113.9"]


@pytest.mark.django_db
def test_login_throttling_counts_the_same_address(alice, settings):
    settings.TRUSTED_PROXIES = [NGINX]
    client = Client()
    wrong = {"username": "alice", "password": "wrong-password"}
    client.post("/accounts/login/", wrong, REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="203.0.113.66")
    client.post("/accounts/login/", wrong, REMOTE_ADDR=NGINX, HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.7", "203.0.113.9"}


@pytest.mark.django_db
def test_login_lockout_cannot_be_dodged_by_rotating_a_forged_header(alice, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    for i in range(3):
        client.post("/accounts/login/", {"username": "alice", "password": "wrong"}, REMOTE_ADDR="198.51.100.7",
                    HTTP_X_FORWARDED_FOR=f"203.0.113.{i}")
    response = client.post("/accounts/login/", {"username": "alice", "password": "alice-pass-123"},
                           REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="203.0.113.200")
    assert response.status_code == 429


@pytest.mark.django_db
def test_log_lines_and_the_access_log_carry_the_client_address(bob_client, kodexa, settings):
    settings.TRUSTED_PROXIES = [NGINX]
    with json_log(logging.INFO) as log:
        response = bob_client.get("/executions/", REMOTE_ADDR=NGINX, HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert response.status_code == 200
    records = log.records()
    assert records and {r["client_ip"] for r in records} == {"203.0.113.9"}, records
    assert response.wsgi_request.META["kodexa.client_ip"] == "203.0.113.9"
