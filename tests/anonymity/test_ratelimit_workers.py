"""A limit holds across two uvicorn workers when they share Redis."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest
import redis

# A database of its own (1-15, drawn at random), so runs on one machine cannot share
# counters; it is emptied before use.
REDIS_URL = os.environ.get(
    "OFFRAMP_TEST_REDIS_URL_WORKERS", f"redis://127.0.0.1:6379/{random.randint(1, 15)}"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis_or_skip() -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    except redis.ConnectionError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {REDIS_URL} is unreachable: {exc}")
        pytest.skip(f"Redis at {REDIS_URL} is unreachable: {exc}")
    finally:
        client.close()


def test_two_workers_share_one_limit_through_redis(settings, tmp_path):
    _redis_or_skip()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OFFRAMP_")}
    env |= {
        "OFFRAMP_DATABASE_URL": settings.resolved_database_url,
        "OFFRAMP_DATA_DIR": str(tmp_path),
        "OFFRAMP_SECRET_KEY": settings.secret_key or "",
        "OFFRAMP_REDIS_URL": REDIS_URL,
        "OFFRAMP_RATE_LIMITS": "preview=10/3600",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "offramp", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        codes = []
        # A new connection per request, so both workers take their share.
        for _ in range(16):
            with httpx.Client(base_url=base, timeout=10) as http:
                codes.append(http.post("/api/v1/preview", json={"body": "x"}).status_code)
        assert codes.count(200) == 10 and codes.count(429) == 6, codes
    finally:
        # This test is about the shared limit: a slow exit (once, in a CI run on a
        # heavily loaded machine, over 30 s; the cause was not found) must not fail it.
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)
