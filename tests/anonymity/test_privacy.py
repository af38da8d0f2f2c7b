"""The privacy suite (SPEC §3.2): act as a poster from a canary address, with a canary
user agent and a canary X-Forwarded-For, then search everything we keep — a full
dump of the database, every log line, the rate-limit store (memory and Redis),
and a real server's output — for the canaries, as text and as hex. Zero hits.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from litestar.testing import TestClient

from offramp.app import create_app

from ..conftest import ORIGIN, form_token

CANARY_PEER = "198.51.100.73"  # the connection's address (TEST-NET-2)
CANARY_FORWARDED = "203.0.113.201"  # what a trusted proxy says the client was (TEST-NET-3)
CANARY_AGENT = "CanaryAgent/9.9 (offramp-privacy-canary)"
PASSPHRASE = "canary passphrase for the audit"


def canary_patterns() -> list[bytes]:
    """Each canary as text, as hex of its text, and (addresses) as packed and hex bytes."""
    patterns = []
    for text in (CANARY_PEER, CANARY_FORWARDED, CANARY_AGENT, "offramp-privacy-canary"):
        patterns += [text.encode(), text.encode().hex().encode()]
    for address in (CANARY_PEER, CANARY_FORWARDED):
        packed = ipaddress.ip_address(address).packed
        patterns += [
            packed,
            packed.hex().encode(),
            str(int(ipaddress.ip_address(address))).encode(),
        ]
    return patterns


def hits(blob: bytes) -> list[bytes]:
    return [pattern for pattern in canary_patterns() if pattern in blob]


class FromAddress:
    """Presents every request to the app as coming from ``address`` (the test client
    otherwise always says 'testclient')."""

    def __init__(self, app, address: str) -> None:
        self.app = app
        self.address = address

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            scope = {**scope, "client": (self.address, 40000)}
        await self.app(scope, receive, send)


def act_as_a_poster(client: TestClient) -> None:
    """Every kind of write a poster makes, plus reads and a search-like preview."""
    client.headers.update({"User-Agent": CANARY_AGENT, "X-Forwarded-For": CANARY_FORWARDED})
    created = client.post(
        "/api/v1/threads",
        json={"title": "Canary thread", "category": "coaching", "body": "A post from the canary."},
    )
    assert created.status_code == 201, created.text
    thread, key = created.json()["thread"], created.json()["edit_key"]
    reply = client.post(f"/api/v1/threads/{thread['id']}/posts", json={"body": "A reply."})
    reply_key, reply_id = reply.json()["edit_key"], reply.json()["post"]["id"]
    auth = {"Authorization": f"Bearer {key}"}
    assert (
        client.patch(
            f"/api/v1/posts/{created.json()['post']['id']}", json={"body": "Edited."}, headers=auth
        ).status_code
        == 200
    )
    assert (
        client.delete(
            f"/api/v1/posts/{reply_id}", headers={"Authorization": f"Bearer {reply_key}"}
        ).status_code
        == 200
    )
    client.post("/api/v1/preview", json={"body": "call 555-123-4567"})
    client.patch(
        f"/api/v1/posts/{reply_id}", json={"body": "x"}, headers={"Authorization": "Bearer wrong"}
    )  # a failed key attempt
    form = {
        "title": "Canary form thread",
        "category": "interviews",
        "body": "Via the form.",
        "action": "publish",
        "form_token": form_token(client),
    }
    assert client.post("/new", data=form).status_code == 201
    assert (
        client.post(
            "/personas/new",
            data={
                "handle": "canary-persona",
                "passphrase": PASSPHRASE,
                "passphrase_again": PASSPHRASE,
            },
        ).status_code
        == 200
    )
    client.post("/personas/logout")
    client.post(
        "/personas/login", data={"login_handle": "canary-persona", "login_passphrase": PASSPHRASE}
    )
    for path in ["/", thread["url"], "/c/coaching", "/no/such/page", "/api/v1/threads"]:
        client.get(path)


def _empty_redis_database(url: str) -> None:
    """The test's own Redis database starts empty (buckets of earlier runs would count)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    except redis.ConnectionError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {url} is unreachable: {exc}")
        pytest.skip(f"Redis at {url} is unreachable: {exc}")
    finally:
        client.close()


def database_dump(settings) -> bytes:
    if settings.is_sqlite:
        with sqlite3.connect(settings.sqlite_path) as connection:
            return "\n".join(connection.iterdump()).encode()
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        pytest.fail("pg_dump is needed to dump the PostgreSQL database")
    return subprocess.run(
        [pg_dump, settings.resolved_database_url], capture_output=True, check=True, timeout=120
    ).stdout


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_no_canary_reaches_the_database_logs_or_rate_limit_store(settings, caplog, store):
    redis_url = os.environ.get(
        "OFFRAMP_TEST_REDIS_URL", f"redis://127.0.0.1:6379/{random.randint(1, 15)}"
    )
    audited = settings.model_copy(
        update={
            "rate_limits": "on",
            "trusted_proxies": CANARY_PEER,  # so the forwarded address is the one used
            "redis_url": redis_url if store == "redis" else None,
        }
    )
    if store == "redis":
        _empty_redis_database(redis_url)
    app = create_app(audited)
    caplog.set_level(logging.DEBUG)
    with TestClient(FromAddress(app, CANARY_PEER), base_url=ORIGIN) as client:
        client.headers["Origin"] = ORIGIN
        act_as_a_poster(client)
        # Read the store on the app's own event loop, as the app would.
        store, portal = app.state["guard"].store, client.blocking_portal
        keys = portal.call(store.keys)
        values = [portal.call(store.get, key) or "" for key in keys]
    assert any(key.startswith("rl:") for key in keys), "the audit must see real buckets"
    store_blob = "\n".join(keys + values).encode()
    assert hits(store_blob) == [], "rate-limit store"
    assert hits(database_dump(audited)) == [], "database"
    log_blob = "\n".join(
        record.getMessage() + str(record.exc_info or "") for record in caplog.records
    ).encode()
    assert hits(log_blob) == [], "logs"


def test_a_real_server_logs_no_address_or_user_agent(settings, tmp_path: Path):
    """uvicorn itself: access log off, and nothing else prints the client."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OFFRAMP_")}
    env |= {
        "OFFRAMP_DATABASE_URL": settings.resolved_database_url,
        "OFFRAMP_DATA_DIR": str(tmp_path),
        "OFFRAMP_SECRET_KEY": settings.secret_key or "",
        "OFFRAMP_TRUSTED_PROXIES": "127.0.0.1",
        "PYTHONUNBUFFERED": "1",
    }
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "offramp", "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(base, server)
        headers = {"User-Agent": CANARY_AGENT, "X-Forwarded-For": CANARY_FORWARDED, "Origin": base}
        with httpx.Client(base_url=base, headers=headers, timeout=10) as http:
            http.get("/")
            http.get("/no/such/page")
            http.post(
                "/api/v1/threads", json={"title": "Logged?", "category": "coaching", "body": "x"}
            )
            http.post(
                "/api/v1/threads", content=b"{broken", headers={"Content-Type": "application/json"}
            )
            http.get("/api/v1/threads?cursor=%ff%fe")
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=20)
    output = log_path.read_bytes()
    assert b"Application startup complete" in output
    assert hits(output) == []
    assert not re.search(rb"127\.0\.0\.1:\d+ - \"", output), "an access-log line was written"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail("the server exited during start-up")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    pytest.fail("the server did not start within 30 s")
