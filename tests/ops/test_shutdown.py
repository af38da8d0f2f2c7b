"""Graceful shutdown (issue 8): on SIGTERM a real `offramp serve` finishes the request in
flight — here one whose body is still arriving — answers it, takes no new connections,
and exits cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_sigterm_lets_the_request_in_flight_finish(settings, tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OFFRAMP_")}
    env |= {
        "OFFRAMP_DATABASE_URL": settings.resolved_database_url,
        "OFFRAMP_DATA_DIR": str(tmp_path),
        "OFFRAMP_SECRET_KEY": settings.secret_key or "",
        "OFFRAMP_RATE_LIMITS": "off",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "offramp", "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)

        def slow_body():
            yield b'{"body": "half of it'
            # The request is in flight (headers read, body arriving) when SIGTERM comes.
            os.killpg(server.pid, signal.SIGTERM)
            time.sleep(1.5)
            yield b', then the rest."}'

        answer = httpx.post(
            base + "/api/v1/preview",
            content=slow_body(),
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        assert "then the rest" in answer.json()["html"]
        # uvicorn shuts down gracefully, then re-raises the signal it caught, as a
        # process stopped by SIGTERM should; 0 would be as clean.
        assert server.wait(timeout=30) in (0, -signal.SIGTERM)
        try:
            httpx.get(base + "/healthz", timeout=2)
            refused = False
        except httpx.HTTPError:
            refused = True
        assert refused, "the server still answered after it exited"
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)
