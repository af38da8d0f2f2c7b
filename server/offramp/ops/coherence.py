"""One page cache generation for every instance, kept in Redis.

Each instance caches anonymous pages in its own memory, keyed by a content
generation that every write changes (``offramp.web.ContentGeneration``). On one
machine that token is a file in the data directory. Instances on several machines
share it through Redis instead, when ``OFFRAMP_REDIS_URL`` is set:

- a write stores a fresh random token in Redis and adopts it at once, so the
  instance that took the write never serves a page from before it;
- every instance reads the token every ``FOLLOW_EVERY_S`` (0.2 s) and, when it has
  changed, drops its cached pages;
- a token not confirmed by Redis for ``CONFIRMED_FOR_S`` (1 s) is not trusted: the
  instance then keys pages by a token that changes every ``UNCONFIRMED_SLICE_S``, so
  no cached page outlives a tenth of a second while Redis is away.

So a post accepted by one instance shows on every other instance's pages within
about 0.2 s, and never later than 1 s.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time

from litestar.stores.memory import MemoryStore
from redis.asyncio import Redis
from redis.exceptions import RedisError

from offramp.config import Settings
from offramp.web import ContentGeneration

log = logging.getLogger("offramp")

REDIS_KEY = "offramp:content-generation"
FOLLOW_EVERY_S = 0.2
CONFIRMED_FOR_S = 1.0
UNCONFIRMED_SLICE_S = 0.1
TOKEN_TTL_S = 86_400  # refreshed by every write; when it lapses a new token is made


class SharedGeneration(ContentGeneration):
    """The content generation, agreed on by every instance through Redis."""

    def __init__(self, store: MemoryStore | None, redis_url: str, clock=time.monotonic) -> None:
        super().__init__(store)
        self._redis = Redis.from_url(redis_url, decode_responses=True)
        self._clock = clock
        self._token: str | None = None
        self._confirmed_until = 0.0
        self._unreachable = False

    def current(self) -> str:
        """The token to key pages by; no I/O (Litestar asks for it synchronously)."""
        if self._token is None or self._clock() > self._confirmed_until:
            return self._unconfirmed_token()
        return self._token

    async def bump(self) -> None:
        """A write happened: a new token for everyone, adopted here at once."""
        token = secrets.token_hex(8)
        try:
            await self._redis.set(REDIS_KEY, token, ex=TOKEN_TTL_S)
        except RedisError as exc:
            self._report_unreachable(exc)
            self._token, self._confirmed_until = None, 0.0  # trust no cached page
        else:
            self._adopt(token)
        if self.store is not None:
            await self.store.delete_all()

    async def refresh(self) -> None:
        """Read the shared token (creating one if Redis has none) and adopt it."""
        token = await self._redis.get(REDIS_KEY)
        if token is None:
            await self._redis.set(REDIS_KEY, secrets.token_hex(8), ex=TOKEN_TTL_S, nx=True)
            token = await self._redis.get(REDIS_KEY)
        if token is not None:
            self._adopt(token)

    async def follow(self) -> None:
        """Keep this instance's copy of the token fresh until cancelled."""
        try:
            while True:
                try:
                    await self.refresh()
                except (RedisError, OSError) as exc:
                    self._report_unreachable(exc)
                await asyncio.sleep(FOLLOW_EVERY_S)
        finally:
            await self._redis.aclose()

    # -- internals ------------------------------------------------------------------------

    def _adopt(self, token: str) -> None:
        if self._unreachable:
            log.info("page cache: Redis answers again; cached pages are trusted again")
            self._unreachable = False
        if token != self._token:
            self._token = token
            self._drop_cached_pages()
        self._confirmed_until = self._clock() + CONFIRMED_FOR_S

    def _unconfirmed_token(self) -> str:
        """A token that changes every tenth of a second: pages are still cached under
        load, but none is served once it is older than that."""
        slice_number = int(self._clock() / UNCONFIRMED_SLICE_S)
        token = f"unconfirmed:{slice_number}"
        if token != self._seen:
            self._seen = token
            self._drop_cached_pages()
        return token

    def _report_unreachable(self, exc: BaseException) -> None:
        if not self._unreachable:  # once per outage, not five times a second
            log.warning(
                "page cache: Redis unreachable (%s); pages are cached for 0.1 s at most",
                type(exc).__name__,
            )
            self._unreachable = True


def content_generation(settings: Settings, store: MemoryStore) -> ContentGeneration:
    """Shared through Redis when it is configured; otherwise a token file in the data
    directory, which keeps the workers of one machine coherent."""
    if settings.redis_url:
        return SharedGeneration(store, settings.redis_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return ContentGeneration(store, settings.data_dir / "content-generation")


async def follow_generation(generation: ContentGeneration) -> None:
    """The background work a generation needs: following Redis, or nothing."""
    if isinstance(generation, SharedGeneration):
        await generation.follow()
