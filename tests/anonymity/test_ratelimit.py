"""Rate limits keyed by HMAC(daily salt, address): per action, in memory and in Redis."""

from __future__ import annotations

import os

import pytest

from offramp.anonymity.ratelimit import (
    DEFAULT_LIMITS,
    Limit,
    RateLimitConfigError,
    RateLimiter,
    client_address,
    parse_limits,
    parse_networks,
)
from offramp.anonymity.stores import MemoryStore, RedisStore

REDIS_URL = os.environ.get("OFFRAMP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
async def store(request):
    if request.param == "memory":
        yield MemoryStore()
        return
    redis_store = RedisStore(REDIS_URL, prefix=f"offramp-test-{os.getpid()}:")
    try:
        await redis_store.ping()
    except OSError as exc:
        await redis_store.close()
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {REDIS_URL} is unreachable: {exc}")
        pytest.skip(f"Redis at {REDIS_URL} is unreachable: {exc}")
    yield redis_store
    for key in await redis_store.keys():
        await redis_store._redis.delete(redis_store._prefix + key)
    await redis_store.close()


async def test_a_limit_allows_its_count_then_refuses_until_the_window_ends(store):
    clock = Clock(1_700_000_000.0 + 7200)
    limiter = RateLimiter(store, {**DEFAULT_LIMITS, "thread": Limit(3, 600)}, clock)
    results = [(await limiter.hit("thread", "203.0.113.9", True)).allowed for _ in range(4)]
    assert results == [True, True, True, False]
    refused = await limiter.hit("thread", "203.0.113.9", True)
    assert 0 < refused.retry_after_s <= 601
    assert (await limiter.hit("thread", "198.51.100.7", True)).allowed  # someone else
    assert (await limiter.hit("reply", "203.0.113.9", True)).allowed  # another action
    clock.now += 600
    assert (await limiter.hit("thread", "203.0.113.9", True)).allowed


async def test_writing_without_proof_of_work_gets_half_the_limit(store):
    limiter = RateLimiter(store, {**DEFAULT_LIMITS, "reply": Limit(4, 600)}, Clock(1e9))
    allowed = [(await limiter.hit("reply", "192.0.2.1")).allowed for _ in range(3)]
    assert allowed == [True, True, False]


async def test_keys_hold_an_hmac_never_the_address(store):
    limiter = RateLimiter(store, DEFAULT_LIMITS, Clock(1e9))
    await limiter.hit("search", "203.0.113.77")
    keys = await store.keys()
    assert keys and not any("203.0.113.77" in key for key in keys)
    for key in keys:
        assert "203.0.113.77" not in (await store.get(key) or "")


async def test_the_salt_changes_every_day_and_yesterday_counts_only_briefly(store):
    midnight = 1_700_006_400.0  # a UTC midnight (divisible by 86,400)
    clock = Clock(midnight - 60)
    # A 7-hour window does not divide the day, so one of them spans midnight.
    limiter = RateLimiter(store, {**DEFAULT_LIMITS, "thread": Limit(2, 7 * 3600)}, clock)
    assert (await limiter.hit("thread", "192.0.2.50", True)).allowed
    assert (await limiter.hit("thread", "192.0.2.50", True)).allowed
    yesterday = await limiter.salts.salt(limiter.salts.day())
    clock.now = midnight + 30  # a new day and a new salt, but the same window still counts
    assert not (await limiter.hit("thread", "192.0.2.50", True)).allowed
    assert await limiter.salts.salt(limiter.salts.day()) != yesterday
    clock.now = midnight + 3600 * 8  # the next window: yesterday's salt plays no part
    assert (await limiter.hit("thread", "192.0.2.50", True)).allowed


def test_forwarded_for_is_believed_only_from_trusted_proxies():
    trusted = parse_networks("10.0.0.0/8, 127.0.0.1")
    assert client_address("127.0.0.1", "198.51.100.4", trusted) == "198.51.100.4"
    assert client_address("10.1.2.3", "198.51.100.4, 10.9.9.9", trusted) == "198.51.100.4"
    # Anyone can write the header: from an untrusted peer it is ignored.
    assert client_address("203.0.113.5", "198.51.100.4", trusted) == "203.0.113.5"
    # A client's own forged entries sit left of the address the proxy saw.
    assert client_address("127.0.0.1", "1.1.1.1, 198.51.100.4", trusted) == "198.51.100.4"
    assert client_address("127.0.0.1", None, []) == "127.0.0.1"


def test_limit_settings_parse_and_explain_mistakes():
    assert parse_limits("off") is None
    assert parse_limits("on") == DEFAULT_LIMITS
    assert parse_limits("thread=5/60")["thread"] == Limit(5, 60)
    with pytest.raises(RateLimitConfigError, match="ACTION=COUNT/SECONDS"):
        parse_limits("threads=5")
