"""Fixtures for end-to-end tests: a real ``offramp serve`` process and a headless Chromium.

The server runs as ``python -m offramp serve`` in its own process group, on a free
port, with a fresh data directory (it applies the migrations itself on start).
Its stdout and stderr go to a file so tests can check what the server logged.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
START_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class LiveServer:
    url: str
    log_path: Path
    data_dir: Path  # OFFRAMP_DATA_DIR: its database and secret key, for CLI commands

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``offramp serve`` on 127.0.0.1 and a free port; yields its URL and log file."""
    base = tmp_path_factory.mktemp("e2e-server")
    data_dir = base / "data"
    log_path = base / "server.log"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if not key.startswith("OFFRAMP_")}
    env.update(
        {
            "OFFRAMP_DATA_DIR": str(data_dir),
            "PYTHONUNBUFFERED": "1",
            # A test types faster than a person: no minimum form time, no rate limits.
            "OFFRAMP_FORM_MIN_SECONDS": "0",
            "OFFRAMP_RATE_LIMITS": "off",
        }
    )
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "offramp",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            cwd=base,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: killpg stops uvicorn and children
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _healthy(url):
            if process.poll() is not None:
                pytest.fail(
                    f"offramp serve exited with {process.returncode} before answering:\n"
                    f"{log_path.read_text(errors='replace')}"
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"offramp serve did not answer /healthz within {START_TIMEOUT_S:.0f} s:\n"
                    f"{log_path.read_text(errors='replace')}"
                )
            time.sleep(0.1)
        yield LiveServer(url=url, log_path=log_path, data_dir=data_dir)
    finally:
        _stop(process)


def _unavailable(reason: str) -> None:
    """Skip locally; in CI (``CI`` set and non-empty) a missing browser is a failure."""
    if os.environ.get("CI"):
        pytest.fail(f"e2e tests cannot run in CI: {reason}")
    pytest.skip(f"e2e tests need a browser: {reason}")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Debian Chromium driven by Playwright (its own download does not work here)."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()
