"""One page cache generation for every instance: a post accepted by one instance
shows on every other instance's pages within 1 s, when they share Redis."""

from __future__ import annotations

import asyncio
import os
import random
import time
from pathlib import Path

import httpx
import pytest
import redis
from litestar.stores.memory import MemoryStore

from offramp.config import Settings
from offramp.ops import coherence
from offramp.ops.coherence import SharedGeneration, content_generation
from offramp.web import ContentGeneration

from ..judges.servers import running_server, without_abuse_limits

# A database of its own (1-15, drawn at random), as the other Redis tests do, so runs
# on one machine do not share counters; it is emptied before use.
REDIS_URL = os.environ.get(
    "OFFRAMP_TEST_REDIS_URL_COHERENCE", f"redis://127.0.0.1:6379/{random.randint(1, 15)}"
)
NOWHERE = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
PAGE = "/c/coaching"


@pytest.fixture
def fresh_redis() -> str:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    except redis.ConnectionError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {REDIS_URL} is unreachable: {exc}")
        pytest.skip(f"Redis at {REDIS_URL} is unreachable: {exc}")
    finally:
        client.close()
    return REDIS_URL


async def _until(condition, timeout_s: float = 5.0) -> float:
    """Seconds until ``condition()`` held; fails after ``timeout_s``."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout_s, "condition never held"
        await asyncio.sleep(0.01)
    return time.monotonic() - started


def test_redis_makes_the_generation_shared(settings: Settings, tmp_path: Path):
    shared = content_generation(settings.model_copy(update={"redis_url": REDIS_URL}), MemoryStore())
    assert isinstance(shared, SharedGeneration)
    local = content_generation(settings, MemoryStore())
    assert type(local) is ContentGeneration and local.path == tmp_path / "content-generation"


async def test_a_write_on_one_instance_reaches_the_other_at_once(fresh_redis: str):
    pages_a, pages_b = MemoryStore(), MemoryStore()
    a, b = SharedGeneration(pages_a, fresh_redis), SharedGeneration(pages_b, fresh_redis)
    followers = [asyncio.create_task(a.follow()), asyncio.create_task(b.follow())]
    try:
        await _until(
            lambda: not a.current().startswith("unconfirmed") and a.current() == b.current()
        )
        await pages_b.set("a cached page", b"<html>", expires_in=300)
        before = b.current()
        await a.bump()
        assert a.current() != before, "the instance that took the write moves on at once"
        waited = await _until(lambda: b.current() == a.current())
        assert waited < coherence.CONFIRMED_FOR_S
        await asyncio.sleep(0.05)  # the drop runs as its own task
        assert await pages_b.get("a cached page") is None
    finally:
        for task in followers:
            task.cancel()
        await asyncio.gather(*followers, return_exceptions=True)


async def test_without_redis_no_cached_page_outlives_a_tenth_of_a_second(caplog):
    now = [1000.0]
    generation = SharedGeneration(MemoryStore(), NOWHERE, clock=lambda: now[0])
    follower = asyncio.create_task(generation.follow())
    try:
        await asyncio.sleep(0.5)  # a few failed reads
        first = generation.current()
        assert first.startswith("unconfirmed") and generation.current() == first
        now[0] += coherence.UNCONFIRMED_SLICE_S
        assert generation.current() != first
        await generation.bump()  # a write still succeeds; it only cannot be shared
    finally:
        follower.cancel()
        await asyncio.gather(follower, return_exceptions=True)
    warnings = [r for r in caplog.records if "Redis unreachable" in r.getMessage()]
    assert len(warnings) == 1, "one warning per outage, not one per read"


async def test_a_token_redis_stopped_confirming_is_not_trusted(fresh_redis: str):
    now = [1000.0]
    generation = SharedGeneration(MemoryStore(), fresh_redis, clock=lambda: now[0])
    try:
        await generation.refresh()
        token = generation.current()
        assert not token.startswith("unconfirmed")
        now[0] += coherence.CONFIRMED_FOR_S + 0.01  # no refresh for over a second
        assert generation.current().startswith("unconfirmed")
        await generation.refresh()
        assert generation.current() == token
    finally:
        await generation._redis.aclose()


def _create_thread(base_url: str, title: str) -> None:
    created = httpx.post(
        f"{base_url}/api/v1/threads",
        json={"title": title, "category": "coaching", "body": "Shared between instances."},
        timeout=20,
    )
    assert created.status_code == 201, created.text


def _seconds_until_shown(base_url: str, title: str, limit_s: float) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        if title in httpx.get(base_url + PAGE, timeout=20).text:
            return time.monotonic() - started
        time.sleep(0.05)
    return None


def _two_machines(settings: Settings, tmp_path: Path, redis_url: str | None):
    """Two instances on one database that share no directory, like two machines."""
    serving = without_abuse_limits(settings).model_copy(
        update={"page_cache_seconds": 300, "redis_url": redis_url}
    )
    return [
        running_server(
            serving.model_copy(update={"data_dir": tmp_path / f"machine-{name}"}),
            log_path=tmp_path / f"machine-{name}.log",
            migrate=False,
        )
        for name in ("a", "b")
    ]


def test_two_instances_sharing_redis_show_a_new_post_within_a_second(
    settings: Settings, tmp_path: Path, fresh_redis: str
):
    first, second = _two_machines(settings, tmp_path, fresh_redis)
    with first as a, second as b:
        for round_number in range(3):
            for _ in range(3):  # b has the page cached
                assert httpx.get(b.url + PAGE, timeout=20).status_code == 200
            title = f"Posted on instance A, round {round_number}"
            _create_thread(a.url, title)
            waited = _seconds_until_shown(b.url, title, limit_s=5)
            assert waited is not None and waited < 1.0, (round_number, waited)


def test_without_redis_instances_on_two_machines_would_disagree(settings: Settings, tmp_path):
    """The control: without Redis the generation token is a file per machine, so the
    second machine keeps serving its cached page (why compose shares /data and why
    several machines need OFFRAMP_REDIS_URL)."""
    first, second = _two_machines(settings, tmp_path, None)
    with first as a, second as b:
        assert httpx.get(b.url + PAGE, timeout=20).status_code == 200
        _create_thread(a.url, "Only instance A knows")
        assert _seconds_until_shown(b.url, "Only instance A knows", limit_s=1.5) is None
