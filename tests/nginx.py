"""nginx (Debian's package) in front of PanelServers, configured with the shipped site file, deploy/nginx/.

    cert, key = self_signed_certificate(directory)           # openssl, for 127.0.0.1
    site = render_site(upstreams=[a.url, b.url], https_port=..., http_port=..., cert=cert, key=key)
    proxy = Nginx(directory, site); proxy.check()            # `nginx -t`
    with proxy.start(): ...                                  # returns once it accepts connections

render_site() changes only what a test must (addresses, ports, certificate paths, server name) and fails when the
shipped file no longer has the line it replaces, so the file under test is the one operators install.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Self

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "deploy" / "nginx" / "kodexa-admin.conf"


def nginx_binary() -> str | None:
    found = shutil.which("nginx") or "/usr/sbin/nginx"
    return found if os.access(found, os.X_OK) else None


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


def render_site(*, upstreams: list[str], https_port: int, http_port: int, cert: Path, key: Path) -> str:
    """The shipped site, on loopback ports with a test certificate. `upstreams`: two host:port (or URLs)."""
    hosts = [u.removeprefix("http://") for u in upstreams]
    text = SITE.read_text()
    for old, new in (
        ("server 127.0.0.1:8001 ", f"server {hosts[0]} "),
        ("server 127.0.0.1:8002 ", f"server {hosts[1]} "),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
        ("listen [::]:443 ssl http2;\n", ""),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen [::]:80;\n", ""),
        ("server_name kodexa-admin.example.com;", "server_name 127.0.0.1;"),
        ("/etc/ssl/kodexa-admin/fullchain.pem", str(cert)),
        ("/etc/ssl/kodexa-admin/privkey.pem", str(key)),
    ):
        assert old in text, f"{SITE} no longer contains {old!r}: update tests/nginx.py"
        text = text.replace(old, new)
    return text


class Nginx:
    """One nginx master with its own prefix, pid, logs and temp paths under `directory`."""

    def __init__(self, directory: Path, site: str) -> None:
        self.binary = nginx_binary()
        assert self.binary, "nginx is not installed"
        self.directory = directory
        self.error_log = directory / "error.log"
        self.access_log = directory / "access.log"
        (directory / "site.conf").write_text(site)
        temp = directory / "temp"
        temp.mkdir(exist_ok=True)
        # As root, workers would run as nobody and could not use temp paths inside pytest's private tmp_path.
        user = "user root;\n" if os.geteuid() == 0 else ""
        (directory / "nginx.conf").write_text(
            f"{user}worker_processes 1;\npid {directory}/nginx.pid;\nerror_log {self.error_log} info;\n"
            "events { worker_connections 256; }\n"
            "http {\n"
            f"  access_log {self.access_log};\n"
            + "".join(f"  {kind}_temp_path {temp}/{kind};\n"
                      for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
            + f"  include {directory}/site.conf;\n"
            "}\n")
        self.process: subprocess.Popen[bytes] | None = None

    def _command(self, *args: str) -> list[str]:
        return [self.binary or "nginx", "-p", str(self.directory), "-c", str(self.directory / "nginx.conf"),
                "-e", str(self.error_log), *args]

    def check(self) -> subprocess.CompletedProcess[str]:
        """`nginx -t`: the configuration parses and its files (certificates) load."""
        return subprocess.run(self._command("-t"), capture_output=True, text=True)

    def start(self, port: int, timeout: float = 10) -> Self:
        self.process = subprocess.Popen(self._command("-g", "daemon off;"), stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"nginx exited:\n{self.error_log.read_text()[-2000:]}"
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nginx did not start:\n{self.error_log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: finish what is in flight
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
