"""Clients that keep writing through the HTTP API while something else happens (a
backup, a crash), and remember when each write was acknowledged.

Needs httpx and the standard library only, so ``bench/`` scripts can use it too.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import httpx

WRITERS = 4


@dataclass
class Writers:
    """Clients that keep starting threads and replying until told to stop, and
    remember when each write was acknowledged."""

    base_url: str
    acknowledged: list[tuple[float, str]] = field(default_factory=list)  # (when, post id)
    failures: list[str] = field(default_factory=list)
    writers: int = WRITERS
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for number in range(self.writers):
            worker = threading.Thread(target=self._write, args=(number,), daemon=True)
            worker.start()
            self._threads.append(worker)

    def stop(self) -> None:
        self._stop.set()
        for worker in self._threads:
            worker.join(timeout=30)

    def wait_for(self, count: int, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.acknowledged) < count:
            if self.failures:
                raise RuntimeError(f"writes failed: {self.failures[:3]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(self.acknowledged)} writes in {timeout_s} s")
            time.sleep(0.05)

    def ids_before(self, moment: float) -> set[str]:
        return {post_id for when, post_id in list(self.acknowledged) if when < moment}

    def count_between(self, start: float, end: float) -> int:
        return sum(1 for when, _ in list(self.acknowledged) if start <= when <= end)

    def _write(self, number: int) -> None:
        with httpx.Client(base_url=self.base_url, timeout=30) as http:
            round_number = 0
            while not self._stop.is_set():
                round_number += 1
                thread = http.post(
                    "/api/v1/threads",
                    json={
                        "title": f"Writer {number} thread {round_number}",
                        "category": "coaching",
                        "body": f"Opening post {round_number} from writer {number}.",
                    },
                )
                if thread.status_code != 201:
                    self.failures.append(f"{thread.status_code} {thread.text[:200]}")
                    return
                body = thread.json()
                self.acknowledged.append((time.monotonic(), body["post"]["id"]))
                reply = http.post(
                    f"/api/v1/threads/{body['thread']['id']}/posts",
                    json={"body": f"A reply in round {round_number}."},
                )
                if reply.status_code != 201:
                    self.failures.append(f"{reply.status_code} {reply.text[:200]}")
                    return
                self.acknowledged.append((time.monotonic(), reply.json()["post"]["id"]))
