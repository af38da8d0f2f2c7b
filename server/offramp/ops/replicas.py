"""Read replicas (``OFFRAMP_READ_REPLICA_URLS``): read-only queries of GET and HEAD
requests may go to a PostgreSQL streaming replica; everything else goes to the
primary.

**Read-your-writes without a cookie, by WAL position.** After every successful write
request (and every background write) the instance asks the primary for its WAL
position and raises a shared "last write" mark to it (in Redis when
``OFFRAMP_REDIS_URL`` is set, so every instance knows it; otherwise in this process).
A read goes to a replica only if that replica has *replayed* at least up to the mark;
otherwise to the primary. So a poster redirected to their new thread — on whichever
instance the proxy picks — never reads from a replica that lacks it, and an instance
that re-renders pages after another instance's write (the page cache's generation
moved) never caches a page read from before that write. The price: one query on the
primary per write, and, while writes arrive, an occasional look at a replica's
position (cached for a few milliseconds); under a constant write load reads fall back
to the primary for the few milliseconds a replica lags.

A query goes to a replica only when all of these hold: the request is a GET or HEAD;
no transaction is open; the statement is a plain ``SELECT`` (not ``FOR UPDATE``, no
sequence or advisory-lock function); and the request has not itself written yet.
A replica that fails is left alone for a few seconds and the query is run on the
primary instead, so a replica going away never fails a page.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
import time
from contextvars import ContextVar
from dataclasses import dataclass

import asyncpg
from piccolo.engine.postgres import PostgresEngine
from piccolo.querystring import QueryString

from offramp.web import SAFE_METHODS

log = logging.getLogger("offramp.replicas")

MARK_KEY = "offramp:replicas:last-write-lsn"
MARK_TTL_S = 7 * 86_400
POSITION_FRESH_S = 0.005  # how long a replica's replay position is trusted
RESTING_S = 5.0  # a failed replica is not asked again for this long
_NOT_FOR_REPLICAS = re.compile(
    r"\bFOR\s+(UPDATE|SHARE|NO\s+KEY\s+UPDATE|KEY\s+SHARE)\b|nextval|setval|advisory",
    re.IGNORECASE,
)
# Raise the mark, never lower it (several instances write at once).
_RAISE_MARK = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1
"""


@dataclass
class _RequestReads:
    """What one request may read from replicas (a context variable per request)."""

    may_use_replicas: bool
    wrote: bool = False
    mark: int | None = None  # the last-write mark, read once per request when needed


_request: ContextVar[_RequestReads | None] = ContextVar("offramp_replica_reads", default=None)


@dataclass
class _Replica:
    name: str
    engine: PostgresEngine
    position: int = -1
    checked_at: float = 0.0
    resting_until: float = 0.0
    reads: int = 0  # queries answered (tests and /metrics-free diagnostics)


def replica_nodes(urls: list[str], config_of) -> dict[str, PostgresEngine]:
    """Piccolo's ``extra_nodes``: ``replica1``, ``replica2``… one engine per URL."""
    return {f"replica{n}": PostgresEngine(config=config_of(url)) for n, url in enumerate(urls, 1)}


class ReplicaRouter:
    def __init__(
        self,
        primary: PostgresEngine,
        nodes: dict[str, PostgresEngine],
        redis_url: str | None = None,
    ) -> None:
        self.primary = primary
        self.replicas = [_Replica(name, engine) for name, engine in nodes.items()]
        self.local_mark = 0
        self._turns = itertools.cycle(range(len(self.replicas)))
        self._redis = None
        if redis_url:
            from redis.asyncio import Redis

            self._redis = Redis.from_url(redis_url, decode_responses=True)

    # -- writes raise the mark ------------------------------------------------------

    async def note_write(self) -> None:
        """Raise the last-write mark to the primary's current WAL position."""
        rows = await self.primary._run_in_pool(
            "SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint AS lsn"
        )
        position = int(rows[0]["lsn"])
        self.local_mark = max(self.local_mark, position)
        if self._redis is not None:
            await self._redis.eval(_RAISE_MARK, 1, MARK_KEY, position, MARK_TTL_S)

    async def mark(self) -> int:
        if self._redis is None:
            return self.local_mark
        shared = await self._redis.get(MARK_KEY)
        return max(self.local_mark, int(shared or 0))

    # -- reads go to a replica that has caught up --------------------------------------

    async def engine_for(self, reads: _RequestReads, sql: str) -> PostgresEngine | None:
        """A replica for this read, or None for the primary."""
        if not reads.may_use_replicas or reads.wrote or _NOT_FOR_REPLICAS.search(sql):
            return None
        if reads.mark is None:
            reads.mark = await self.mark()
        now = time.monotonic()
        for _ in range(len(self.replicas)):
            replica = self.replicas[next(self._turns)]
            if replica.resting_until > now:
                continue
            if replica.position < reads.mark and now - replica.checked_at > POSITION_FRESH_S:
                await self._check_position(replica)
            if replica.position >= reads.mark:
                return replica.engine
        return None

    async def _check_position(self, replica: _Replica) -> None:
        try:
            rows = await replica.engine._run_in_pool(
                "SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint AS lsn"
            )
            replica.position = int(rows[0]["lsn"] or -1)
        except Exception as exc:  # down or unreachable: rest it, read from the primary
            self.rest(replica, exc)
        replica.checked_at = time.monotonic()

    def rest(self, replica: _Replica, exc: BaseException) -> None:
        replica.resting_until = time.monotonic() + RESTING_S
        replica.position = -1
        log.warning("read replica %s failed (%s); reading from the primary", replica.name,
                    type(exc).__name__)  # fmt: skip

    def replica_of(self, engine: PostgresEngine) -> _Replica:
        return next(replica for replica in self.replicas if replica.engine is engine)

    # -- pools -------------------------------------------------------------------------

    async def open(self, pool_size: int) -> None:
        for replica in self.replicas:
            try:
                await replica.engine.start_connection_pool(min_size=1, max_size=pool_size)
            except Exception as exc:  # start anyway: reads use the primary meanwhile
                self.rest(replica, exc)

    async def close(self) -> None:
        for replica in self.replicas:
            if replica.engine.pool is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(replica.engine.close_connection_pool(), 5)
        if self._redis is not None:
            await self._redis.aclose()


class ReplicatedPostgresEngine(PostgresEngine):
    """The primary, with Piccolo's ``extra_nodes`` as replicas; plain ``SELECT``\\ s of
    GET requests go to a replica that has caught up with the last write."""

    router: ReplicaRouter

    async def run_querystring(self, querystring: QueryString, in_pool: bool = True):
        reads = _request.get()
        if reads is None or self.current_transaction.get() is not None:
            return await super().run_querystring(querystring, in_pool)
        sql = querystring.compile_string(engine_type=self.engine_type)[0]
        if not sql.lstrip().upper().startswith("SELECT"):
            reads.wrote = True  # this request writes: its later reads see the primary
            return await super().run_querystring(querystring, in_pool)
        replica = await self.router.engine_for(reads, sql)
        if replica is None:
            return await super().run_querystring(querystring, in_pool)
        try:
            rows = await replica.run_querystring(querystring, in_pool)
        except Exception as exc:
            if not _replica_trouble(exc):
                raise
            self.router.rest(self.router.replica_of(replica), exc)
            return await super().run_querystring(querystring, in_pool)
        self.router.replica_of(replica).reads += 1
        return rows


def _replica_trouble(exc: BaseException) -> bool:
    """The replica is gone, restarting, or cancelled the query to replay WAL (a
    recovery conflict): worth answering from the primary instead."""
    if isinstance(exc, OSError | asyncio.TimeoutError | asyncpg.InterfaceError):
        return True
    state = getattr(exc, "sqlstate", None) or ""
    return state.startswith(("08", "57P")) or state == "40001"


class ReadRouting:
    """ASGI middleware: lets GET and HEAD requests read from replicas, and raises the
    last-write mark after every successful write request, before its response leaves
    (so the redirect that follows a post already finds the mark raised)."""

    def __init__(self, app, router: ReplicaRouter) -> None:
        self.app = app
        self.router = router

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        safe = scope["method"] in SAFE_METHODS
        token = _request.set(_RequestReads(may_use_replicas=safe))

        async def raise_mark_first(message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                await self.router.note_write()
            await send(message)

        try:
            await self.app(scope, receive, send if safe else raise_mark_first)
        finally:
            _request.reset(token)
