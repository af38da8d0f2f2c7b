"""The page cache stays coherent across workers: a write on one shows on all at once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_write_on_one_worker_is_seen_by_every_worker(settings, tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OFFRAMP_")}
    env |= {
        "OFFRAMP_DATABASE_URL": settings.resolved_database_url,
        "OFFRAMP_DATA_DIR": str(tmp_path),
        "OFFRAMP_SECRET_KEY": settings.secret_key or "",
        "OFFRAMP_RATE_LIMITS": "off",
        "OFFRAMP_PAGE_CACHE_SECONDS": "300",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "offramp", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        for _ in range(20):  # warm both workers' caches (a new connection each time)
            httpx.get(base + "/c/coaching", timeout=10)
        for round_number in range(3):
            title = f"Fresh thread number {round_number}"
            created = httpx.post(
                base + "/api/v1/threads",
                timeout=10,
                json={"title": title, "category": "coaching", "body": "x"},
            )
            assert created.status_code == 201
            pages = [httpx.get(base + "/c/coaching", timeout=10).text for _ in range(12)]
            assert all(title in page for page in pages), round_number
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
