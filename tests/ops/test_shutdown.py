"""Graceful shutdown (issue 8): on SIGTERM a real ``offramp serve`` finishes the request
in flight — here one whose body is still arriving — answers it, then exits and takes
no new connections.

The signal is sent only once the server is handling the request: ``/metrics`` (Litestar's
Prometheus middleware) counts it in ``offramp_requests_in_progress`` from the moment the
server has read its headers. Before that moment the connection is merely idle, and
closing idle connections is what a shutdown should do. With two workers the signal goes
to the supervisor alone, as ``docker stop`` sends it to PID 1; uvicorn's supervisor passes
it on to each worker.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from offramp.config import Settings

from ..judges.servers import running_server, without_abuse_limits

PREVIEW = "/api/v1/preview"
IN_PROGRESS = re.compile(
    r'^offramp_requests_in_progress\{[^}]*path="/api/v1/preview"[^}]*\} (\d+(?:\.\d+)?)$',
    re.MULTILINE,
)


def preview_in_progress(url: str) -> bool:
    """Whether the worker that answers this scrape is handling a preview right now.
    Each worker counts its own requests, and a kept connection would always reach the
    same one: every scrape opens a new connection."""
    scraped = httpx.get(url + "/metrics", timeout=10)
    assert scraped.status_code == 200, scraped.text
    return any(float(count) >= 1 for count in IN_PROGRESS.findall(scraped.text))


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_lets_the_request_in_flight_finish(
    settings: Settings, tmp_path: Path, workers: int
):
    served = without_abuse_limits(settings).model_copy(update={"metrics_addresses": "127.0.0.1"})
    with running_server(served, tmp_path / "server.log", workers=workers) as server:
        assert server.process is not None
        release = threading.Event()

        def slow_body():
            yield b'{"body": "half of it'
            # The rest arrives only after the server got SIGTERM.
            release.wait(timeout=60)
            yield b', then the rest."}'

        answers: list[httpx.Response | Exception] = []

        def send() -> None:
            try:
                answers.append(
                    httpx.post(
                        server.url + PREVIEW,
                        content=slow_body(),
                        headers={"Content-Type": "application/json", "Origin": server.url},
                        timeout=60,
                    )
                )
            except Exception as exc:  # noqa: BLE001 — reported by the assertion below
                answers.append(exc)

        sender = threading.Thread(target=send)
        sender.start()
        try:
            deadline = time.monotonic() + 30
            while not preview_in_progress(server.url):
                assert time.monotonic() < deadline, "the preview never started"
                time.sleep(0.05)
            os.kill(server.process.pid, signal.SIGTERM)
            time.sleep(1.0)  # the shutdown is under way while the body is still arriving
        finally:
            release.set()
            sender.join(timeout=60)

        assert len(answers) == 1
        answer = answers[0]
        assert isinstance(answer, httpx.Response), f"the request was not answered: {answer!r}"
        assert answer.status_code == 200, answer.text
        assert "then the rest" in answer.json()["html"]
        # uvicorn finishes, then re-raises the SIGTERM it caught, as a process stopped
        # by SIGTERM should; a plain 0 would be as clean.
        assert server.process.wait(timeout=30) in (0, -signal.SIGTERM)
        with pytest.raises(httpx.ConnectError):
            httpx.get(server.url + "/healthz", timeout=2)
