"""The real thing: Debian's nginx with the shipped site (TLS, self-signed certificate) in front of two gunicorn
instances with production settings and DJANGO_SECURE=true, on PostgreSQL and Redis.

A person at 127.0.0.2 (any loopback address other than nginx's 127.0.0.1, the one trusted proxy) signs in and
cancels through nginx. The audit event must carry 127.0.0.2, not nginx's address nor what the person wrote into
X-Forwarded-For; the cookies must be __Host- and Secure; and the two instances' /metrics together must count the
cancel once.

Runs where DATABASE_URL is PostgreSQL (`.ci/run` does so once, in its PostgreSQL section), on a database of its
own (kodexa_admin_proxy_e2e on that server) and Redis database 10, so it never meets another test run's data.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import psycopg
import pytest
import redis
import requests
from prometheus_client.parser import text_string_to_metric_families
from requests.adapters import HTTPAdapter

from tests.nginx import Nginx, render_site, self_signed_certificate
from tests.servers import PanelServer, free_port, redis_url

pytestmark = [pytest.mark.nginx, pytest.mark.slow]

DATABASE = "kodexa_admin_proxy_e2e"
REDIS_DB = 10  # bench uses 12 and 13, tests/system 14, .ci/run 15, test_redis_cache 11
CLIENT = "127.0.0.2"  # the person's address; nginx reaches the instances from 127.0.0.1
FORGED = "203.0.113.66"
PASSWORD = "olivia-pass-123-proxy"
CREATE_OPERATOR = f"""
from django.contrib.auth.models import Group, User
user = User.objects.create_user("olivia", password="{PASSWORD}")
user.groups.add(Group.objects.get(name="Operators"))
"""


class FromAddress(HTTPAdapter):
    """Connects from a chosen local address, as a person on another machine would from theirs."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def session_from(address: str, cert) -> requests.Session:  # type: ignore[no-untyped-def]
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE in the environment would replace `verify`
    session.mount("https://", FromAddress(address))
    session.mount("http://", FromAddress(address))
    session.verify = str(cert)
    return session


def postgres_server() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.skip("runs on PostgreSQL: .ci/run runs it in its PostgreSQL section (set DATABASE_URL=postgres://...)")
    return url


@pytest.fixture
def stack(kodexa, tmp_path) -> Iterator[dict[str, object]]:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    parts = urlsplit(postgres_server())
    admin_dsn = f"host={parts.hostname or '127.0.0.1'} port={parts.port or 5432} user={parts.username or 'postgres'}"
    if parts.password:
        admin_dsn += f" password={parts.password}"
    with psycopg.connect(admin_dsn + " dbname=postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {DATABASE}")
    cache = redis_url(REDIS_DB)
    assert cache is not None, "Redis is not reachable on 127.0.0.1:6379"
    redis.Redis.from_url(cache).flushdb()

    https_port, http_port = free_port(), free_port()
    origin = f"https://127.0.0.1:{https_port}"
    userinfo = f"{parts.username or 'postgres'}" + (f":{parts.password}" if parts.password else "")
    database_url = f"postgres://{userinfo}@{parts.hostname or '127.0.0.1'}:{parts.port or 5432}/{DATABASE}"
    env = {"DJANGO_SECURE": "true", "TRUSTED_PROXIES": "127.0.0.1", "DJANGO_CSRF_TRUSTED_ORIGINS": origin,
           "GUNICORN_ACCESSLOG": "true", "LOG_LEVEL": "INFO"}
    servers = [PanelServer(database_url=database_url, cache_url=cache, kodexa_url=kodexa.url, api_key=kodexa.api_key,
                           env={**env, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / f"metrics-{i}")}) for i in (1, 2)]
    for i, server in enumerate(servers, 1):
        (tmp_path / f"metrics-{i}").mkdir()
    servers[0].manage("migrate", "--no-input")
    servers[0].manage("shell", "-c", CREATE_OPERATOR)
    cert, key = self_signed_certificate(tmp_path)
    nginx = None
    try:
        for server in servers:
            server.start(workers=2, threads=4)
        site = render_site(upstreams=[s.url for s in servers], https_port=https_port, http_port=http_port,
                           cert=cert, key=key)
        nginx = Nginx(tmp_path, site)
        checked = nginx.check()
        assert checked.returncode == 0, checked.stderr
        nginx.start(https_port)
        yield {"origin": origin, "http": f"http://127.0.0.1:{http_port}", "servers": servers, "cert": cert,
               "dsn": admin_dsn + f" dbname={DATABASE}", "nginx": nginx, "started": started}
    finally:
        if nginx is not None:
            nginx.stop()
        for server in servers:
            server.stop()
        print(f"\nproxy end-to-end: {time.monotonic() - started:.1f} s in all")


def csrf_token(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def metric_sum(servers: list[PanelServer], name: str, **labels: str) -> float:
    """A sample's value added up over both instances, scraped directly (as Prometheus does), not through nginx."""
    total = 0.0
    for server in servers:
        response = requests.get(f"{server.url}/metrics", timeout=10)
        assert response.status_code == 200, response.text
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                    total += sample.value
    return total


def test_sign_in_and_cancel_through_nginx(stack, kodexa):
    origin, servers, cert = stack["origin"], stack["servers"], stack["cert"]
    person = session_from(CLIENT, cert)

    # Plain HTTP is sent to HTTPS by nginx; HTTPS answers with HSTS.
    redirect = person.get(f"{stack['http']}/accounts/login/", allow_redirects=False, timeout=10)
    assert redirect.status_code == 301 and redirect.headers["Location"].startswith("https://")

    page = person.get(f"{origin}/accounts/login/", timeout=10)
    assert page.status_code == 200
    assert "max-age=31536000" in page.headers["Strict-Transport-Security"]
    signed_in = person.post(f"{origin}/accounts/login/", allow_redirects=False, timeout=10,
                            headers={"Referer": f"{origin}/accounts/login/"},
                            data={"csrfmiddlewaretoken": csrf_token(page.text), "username": "olivia",
                                  "password": PASSWORD})
    assert signed_in.status_code == 302, signed_in.text[:500]
    cookies = {cookie.name: cookie for cookie in person.cookies}
    assert set(cookies) == {"__Host-sessionid", "__Host-csrftoken"}, cookies
    for cookie in cookies.values():  # what the __Host- prefix requires: Secure, Path=/, no Domain
        assert cookie.secure and cookie.path == "/" and not cookie.domain_specified, cookie
    assert "httponly" in signed_in.headers["Set-Cookie"].lower()

    # Cancel through nginx, with a forged X-Forwarded-For and a request id of the person's.
    execution_id = kodexa.control.add_execution(status="RUNNING", _sim={"lifecycle": False})["id"]
    detail = person.get(f"{origin}/executions/{execution_id}/", timeout=30)
    assert detail.status_code == 200
    token = re.search(r'name="token" value="([^"]+)"', detail.text).group(1)
    cancelled = person.post(f"{origin}/executions/{execution_id}/cancel/", allow_redirects=False, timeout=60,
                            headers={"Referer": detail.url, "X-Forwarded-For": FORGED,
                                     "X-Request-ID": "proxy-e2e-cancel-0001"},
                            data={"csrfmiddlewaretoken": csrf_token(detail.text), "reason_category": "stuck",
                                  "reason": "through nginx", "token": token})
    assert cancelled.status_code == 302, cancelled.text[:500]
    assert cancelled.headers["X-Request-ID"] == "proxy-e2e-cancel-0001"

    with psycopg.connect(stack["dsn"]) as connection:
        events = connection.execute(
            "SELECT action, host(client_ip), request_id FROM executions_auditevent WHERE execution_id = %s "
            "ORDER BY id", [execution_id]).fetchall()
    assert [e[0] for e in events] == ["cancel.requested", "cancel.succeeded"]
    assert {e[1] for e in events} == {CLIENT}, events  # neither nginx's 127.0.0.1 nor the forged address
    assert {e[2] for e in events} == {"proxy-e2e-cancel-0001"}

    # The logs say the same: gunicorn's access line starts with the person's address (nginx is the `peer`), and the
    # app's lines carry it as client_ip.
    lines = [json.loads(line) for server in servers for line in server.log_path.read_text().splitlines()
             if line.startswith("{")]
    access = [r["message"] for r in lines if r.get("logger") == "gunicorn.access" and "/cancel/" in r["message"]]
    assert len(access) == 1 and access[0].startswith(f'{CLIENT} "POST ') and access[0].endswith("peer=127.0.0.1")
    appended = [r for r in lines if r.get("message") == "audit event appended"]
    assert len(appended) == 2 and {r["client_ip"] for r in appended} == {CLIENT}, appended

    # The same forged header sent straight to an instance, from a peer that is not a trusted proxy: ignored.
    # (X-Forwarded-Proto gets the request past the HTTPS redirect, as nginx would.)
    direct = session_from(CLIENT, cert)
    login = direct.get(f"{servers[1].url}/accounts/login/", timeout=10, headers={"X-Forwarded-Proto": "https"})
    refused = direct.post(f"{servers[1].url}/accounts/login/", timeout=10, allow_redirects=False,
                headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": FORGED,
                         # A Secure cookie is not sent over plain HTTP by the client library: hand it over.
                         "Cookie": f"__Host-csrftoken={login.cookies['__Host-csrftoken']}",
                         "Referer": f"https://127.0.0.1:{urlsplit(servers[1].url).port}/accounts/login/"},
                data={"csrfmiddlewaretoken": csrf_token(login.text), "username": "olivia", "password": "wrong"})
    assert refused.status_code == 200 and "__Host-sessionid" not in refused.cookies, refused.status_code
    with psycopg.connect(stack["dsn"]) as connection:
        attempts = connection.execute("SELECT host(ip_address::inet) FROM axes_accessattempt").fetchall()
    assert attempts == [(CLIENT,)], attempts

    # /metrics: the one cancel counted once over both instances, matching what Kodexa saw; not served by nginx.
    assert metric_sum(servers, "kodexa_admin_audit_events_total", action="cancel.succeeded") == 1
    assert metric_sum(servers, "kodexa_admin_audit_events_total", action="cancel.requested") == 1
    assert metric_sum(servers, "kodexa_admin_kodexa_calls_total", route="/api/executions/{id}/cancel",
                      method="PUT") == 1 == kodexa.control.calls()["by_route"]["PUT /api/executions/{id}/cancel"]
    assert metric_sum(servers, "kodexa_admin_request_seconds_count", view="executions:cancel", method="POST") == 1
    assert person.get(f"{origin}/metrics", timeout=10).status_code == 404

    # Readiness through nginx: database, Redis and breaker are fine.
    ready = person.get(f"{origin}/readyz", timeout=10)
    assert ready.status_code == 200 and ready.json()["checks"]["circuit"] == "closed"
