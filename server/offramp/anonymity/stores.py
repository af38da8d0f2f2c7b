"""Short-lived shared state: rate-limit counters, the daily salt, spent challenges.

Two implementations of one small interface: process memory (one worker, the
embedded default) and Redis (several workers or instances). Every key expires;
nothing here is ever written to disk by us (run Redis without persistence).
Keys hold only HMACs of client addresses, never an address.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Store(Protocol):
    async def incr(self, key: str, ttl_s: int) -> int:
        """Add one to a counter that expires ``ttl_s`` after its first hit."""

    async def get_int(self, key: str) -> int: ...

    async def set_if_absent(self, key: str, value: str, ttl_s: int) -> bool:
        """Store ``value`` unless the key exists; True when this call stored it."""

    async def get(self, key: str) -> str | None: ...

    async def keys(self) -> list[str]:
        """Every live key (for tests and the privacy audit)."""

    async def close(self) -> None: ...


class MemoryStore:
    """A dict with expiry, for a single process."""

    def __init__(self, clock=time.monotonic) -> None:
        self._data: dict[str, tuple[str, float]] = {}
        self._clock = clock
        self._lock = asyncio.Lock()

    def _live(self, key: str) -> str | None:
        item = self._data.get(key)
        if item is None:
            return None
        value, expires = item
        if expires <= self._clock():
            del self._data[key]
            return None
        return value

    async def incr(self, key: str, ttl_s: int) -> int:
        async with self._lock:
            current = self._live(key)
            if current is None:
                self._data[key] = ("1", self._clock() + ttl_s)
                self._sweep()
                return 1
            value, expires = self._data[key]
            self._data[key] = (str(int(value) + 1), expires)
            return int(value) + 1

    async def get_int(self, key: str) -> int:
        value = self._live(key)
        return int(value) if value is not None else 0

    async def set_if_absent(self, key: str, value: str, ttl_s: int) -> bool:
        async with self._lock:
            if self._live(key) is not None:
                return False
            self._data[key] = (value, self._clock() + ttl_s)
            return True

    async def get(self, key: str) -> str | None:
        return self._live(key)

    async def keys(self) -> list[str]:
        return [key for key in list(self._data) if self._live(key) is not None]

    async def close(self) -> None:
        self._data.clear()

    def _sweep(self) -> None:
        """Drop expired entries now and then so memory stays bounded."""
        if len(self._data) % 1024 == 0:
            now = self._clock()
            for key in [k for k, (_, expires) in self._data.items() if expires <= now]:
                del self._data[key]


class RedisStore:
    """The same interface on Redis, shared by every worker and instance."""

    def __init__(self, url: str, prefix: str = "offramp:") -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url, decode_responses=True)
        self._prefix = prefix

    async def incr(self, key: str, ttl_s: int) -> int:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(self._prefix + key)
            pipe.expire(self._prefix + key, ttl_s, nx=True)
            count, _ = await pipe.execute()
        return int(count)

    async def get_int(self, key: str) -> int:
        value = await self._redis.get(self._prefix + key)
        return int(value) if value is not None else 0

    async def set_if_absent(self, key: str, value: str, ttl_s: int) -> bool:
        return bool(await self._redis.set(self._prefix + key, value, ex=ttl_s, nx=True))

    async def get(self, key: str) -> str | None:
        return await self._redis.get(self._prefix + key)

    async def keys(self) -> list[str]:
        found = [key async for key in self._redis.scan_iter(match=self._prefix + "*")]
        return [key.removeprefix(self._prefix) for key in found]

    async def ping(self) -> bool:
        return bool(await self._redis.ping())

    async def close(self) -> None:
        await self._redis.aclose()


def make_store(redis_url: str | None) -> MemoryStore | RedisStore:
    return RedisStore(redis_url) if redis_url else MemoryStore()
