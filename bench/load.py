"""Load generator, run as its own process so it does not share a GIL with the panel or the stand-in.

    python -m bench.load < config.json > result.json

Config: {"base": "http://127.0.0.1:PORT", "paths": [...], "threads": N, "duration": seconds,
"max_requests": N, "headers": {...}, "cookie": "sessionid=..."}. Each thread keeps one persistent
http.client connection (cheaper per request than requests, so the generator is not the bottleneck on two
cores) and walks the paths round robin from its own offset. Bounded in time and count; loopback only.
Result: {"latencies_ms": [...], "errors": N, "statuses": {...}, "elapsed": s, "requests": N}.
"""

from __future__ import annotations

import http.client
import itertools
import json
import re
import sys
import threading
import time
import urllib.parse
from http.cookies import SimpleCookie

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def connect(base: str) -> http.client.HTTPConnection:
    parts = urllib.parse.urlsplit(base)
    if parts.hostname not in LOOPBACK:
        raise SystemExit(f"refusing to load a non-loopback host: {parts.hostname}")
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)


def _cookies(response: http.client.HTTPResponse, jar: dict[str, str]) -> None:
    for header in response.headers.get_all("Set-Cookie") or []:
        jar.update({name: morsel.value for name, morsel in SimpleCookie(header).items()})


def login(base: str, username: str, password: str) -> str:
    """Log in through the real form (CSRF token and all); returns the Cookie header for the session."""
    conn, jar = connect(base), {}
    conn.request("GET", "/accounts/login/")
    response = conn.getresponse()
    page = response.read().decode()
    _cookies(response, jar)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": username, "password": password})
    conn.request("POST", "/accounts/login/", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": _header(jar), "Referer": base + "/"})
    response = conn.getresponse()
    response.read()
    _cookies(response, jar)
    conn.close()
    if response.status != 302 or not any("sessionid" in name for name in jar):
        raise SystemExit(f"bench login failed: HTTP {response.status}")
    return _header(jar)


def _header(jar: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def run(config: dict) -> dict:
    paths = config["paths"]
    headers = dict(config.get("headers") or {})
    if config.get("cookie"):
        headers["Cookie"] = config["cookie"]
    deadline = time.monotonic() + float(config.get("duration", 10))
    budget = itertools.count()  # shared request counter; next() is atomic under the GIL
    limit = int(config.get("max_requests", 10**9))
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    lock = threading.Lock()

    def user(offset: int) -> None:
        conn = connect(config["base"])
        mine: list[float] = []
        seen: dict[str, int] = {}
        for i in itertools.count(offset):
            if time.monotonic() >= deadline or next(budget) >= limit:
                break
            started = time.perf_counter()
            try:
                conn.request("GET", paths[i % len(paths)], headers=headers)
                response = conn.getresponse()
                response.read()
                status = str(response.status)
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException) as exc:
                status = type(exc).__name__
                conn.close()
            mine.append((time.perf_counter() - started) * 1000)
            seen[status] = seen.get(status, 0) + 1
        conn.close()
        with lock:
            latencies.extend(mine)
            for status, n in seen.items():
                statuses[status] = statuses.get(status, 0) + n

    threads = [threading.Thread(target=user, args=(n * 7,)) for n in range(int(config.get("threads", 1)))]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    # Redirects are answers too (a search by execution id redirects to its page); 4xx/5xx and socket errors are not.
    errors = sum(n for status, n in statuses.items() if not status.isdigit() or int(status) >= 400)
    return {"latencies_ms": latencies, "errors": errors, "statuses": statuses, "elapsed": elapsed,
            "requests": len(latencies)}


if __name__ == "__main__":
    json.dump(run(json.load(sys.stdin)), sys.stdout)
