"""The files in deploy/: the nginx site loads in Debian's nginx, the dashboard asks only for metrics the panel
exports, the systemd unit is one systemd accepts."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from executions.audit.chain import audit_event_append
from executions.audit.models import AuditAction
from tests.nginx import SITE, Nginx, render_site, self_signed_certificate

ROOT = Path(__file__).resolve().parent.parent.parent
DASHBOARD = ROOT / "deploy" / "grafana" / "kodexa-admin.json"
UNIT = ROOT / "deploy" / "systemd" / "kodexa-admin@.service"


@pytest.mark.nginx
def test_the_nginx_site_passes_nginx_t(tmp_path):
    cert, key = self_signed_certificate(tmp_path)
    site = render_site(upstreams=["127.0.0.1:18001", "127.0.0.1:18002"], https_port=18443, http_port=18080,
                       cert=cert, key=key)
    result = Nginx(tmp_path, site).check()
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr and "test is successful" in result.stderr


@pytest.mark.nginx
def test_nginx_t_catches_a_broken_site(tmp_path):
    """The check above can fail: a site that nginx cannot load is refused."""
    cert, key = self_signed_certificate(tmp_path)
    site = render_site(upstreams=["127.0.0.1:18001", "127.0.0.1:18002"], https_port=18443, http_port=18080,
                       cert=cert, key=key).replace("proxy_read_timeout 65s;", "proxy_read_timeout;")
    assert Nginx(tmp_path, site).check().returncode != 0


def test_the_site_sets_the_headers_the_panel_relies_on():
    text = SITE.read_text()
    for line in ("proxy_set_header Host $host;", "proxy_set_header X-Forwarded-Proto $scheme;",
                 "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
                 "proxy_set_header X-Request-ID $kodexa_admin_request_id;", "listen 443 ssl http2;",
                 "server_tokens off;"):
        assert line in text, line


@pytest.mark.django_db
def test_the_dashboard_asks_only_for_metrics_the_panel_exports(bob_client, kodexa):
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["__inputs"][0]["pluginId"] == "prometheus" and dashboard["uid"] == "kodexa-admin"
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    exprs.append(dashboard["templating"]["list"][0]["definition"])
    used = {name for expr in exprs for name in re.findall(r"\b(kodexa_admin_[a-z_]+)", expr)}
    assert len(used) >= 6, used
    bob_client.get("/executions/")  # so that every family has samples
    audit_event_append(action=AuditAction.CANCEL_DENIED, execution_id="00000000-0000-4000-8000-000000000001")
    exported = {sample.name for family in text_string_to_metric_families(Client().get("/metrics").content.decode())
                for sample in family.samples}
    assert used <= exported, used - exported
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_the_systemd_unit_is_hardened():
    text = UNIT.read_text()
    for setting in ("NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
                    "CapabilityBoundingSet=\n", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
                    "SystemCallFilter=@system-service", "User=kodexa-admin", "Type=notify"):
        assert setting in text, setting


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_accepts_the_unit(tmp_path):
    unit = tmp_path / "kodexa-admin@8001.service"
    unit.write_text(UNIT.read_text())
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
    # The one complaint expected on a machine where the panel is not installed at /srv/kodexa-admin.
    problems = [line for line in (result.stdout + result.stderr).splitlines()
                if line.strip() and "/srv/kodexa-admin/.venv/bin/gunicorn is not executable" not in line]
    assert not problems, problems
