"""Scheduled work that runs on one instance at a time, across every instance.

Every instance runs the same background loops (``app.py``). Delayed publication
needs no coordination: each post is claimed by one conditional UPDATE. The
statistics rebuild does: it is a heavy batch, and two instances finding it due at
the same moment would both run it. ``alone(name)`` lets exactly one through:

- on PostgreSQL, a session-level advisory lock (``pg_try_advisory_lock``) on a
  connection held for the length of the job;
- on SQLite (every instance is on the one machine that has the file), an exclusive
  ``flock`` on a file beside the database.

Either lock belongs to a connection or an open file, not to a record: when the
instance holding it dies, the operating system or PostgreSQL releases it at once,
so the next instance to look runs the job. Whoever gets the lock checks again
whether the job is still due, so a job just finished elsewhere is not repeated.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path

from piccolo.engine.postgres import PostgresEngine

from offramp.db import current_engine
from offramp.ids import this_hour
from offramp.ops.metrics import record_statistics_rebuild
from offramp.stats.service import Statistics

STATISTICS_REBUILD = "statistics-rebuild"


@contextlib.asynccontextmanager
async def alone(name: str) -> AsyncIterator[bool]:
    """Hold the cluster-wide lock ``name`` for the block if nobody else does; yields
    whether this instance holds it (never waits for it)."""
    engine = current_engine()
    if isinstance(engine, PostgresEngine):
        async with _advisory_lock(engine, name) as held:
            yield held
    else:
        with _file_lock(Path(f"{engine.path}.{_slug(name)}.lock")) as held:
            yield held


async def rebuild_statistics_when_due(
    statistics: Statistics, every_hours: int, now: datetime | None = None
) -> bool:
    """Rebuild the published statistics if none exist or the last rebuild is older
    than ``every_hours``; on one instance only. True when this call rebuilt them."""
    async with alone(STATISTICS_REBUILD) as mine:
        if not mine:
            return False
        latest = await statistics.latest()
        if latest is not None and latest["as_of"] > this_hour(now) - timedelta(hours=every_hours):
            return False
        result = await statistics.rebuild(now)
        record_statistics_rebuild(result["seconds"])
        return True


# -- the two kinds of lock ----------------------------------------------------------------


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for ``pg_try_advisory_lock``, derived from the name."""
    digest = hashlib.sha256(f"offramp:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextlib.asynccontextmanager
async def _advisory_lock(engine: PostgresEngine, name: str) -> AsyncIterator[bool]:
    key = advisory_key(name)
    async with _connection(engine) as connection:
        held = bool(await connection.fetchval("SELECT pg_try_advisory_lock($1)", key))
        try:
            yield held
        finally:
            if held:
                await connection.execute("SELECT pg_advisory_unlock($1)", key)


@contextlib.asynccontextmanager
async def _connection(engine: PostgresEngine):
    """A connection of the app's pool, or of its own when there is no pool (the CLI)."""
    if engine.pool is not None:
        async with engine.pool.acquire() as connection:
            yield connection
        return
    connection = await engine.get_new_connection()
    try:
        yield connection
    finally:
        await connection.close()


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[bool]:
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", name.lower())
