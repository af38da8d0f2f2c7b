"""Scheduled work that runs on one instance at a time, across every instance.

Every instance runs the same background loops (``app.py``). Delayed publication
needs no coordination: each post is claimed by one conditional UPDATE. The
statistics rebuild does: it is a heavy batch, and two instances finding it due at
the same moment would both run it. ``alone(name)`` lets exactly one through:

- on PostgreSQL, a transaction-scoped advisory lock (``pg_try_advisory_xact_lock``)
  taken inside a transaction that the whole block runs in: every query of the job,
  its final write included, goes through the connection that holds the lock;
- on SQLite (every instance is on the one machine that has the file), an exclusive
  ``flock`` on a file beside the database.

Either lock belongs to a connection or an open file, not to a record: when the
instance holding it dies, the operating system or PostgreSQL releases it at once,
so the next instance to look runs the job. Whoever gets the lock checks again
whether the job is still due, so a job just finished elsewhere is not repeated.

No fencing token is needed, because a holder cannot lose its lock and still write.
On PostgreSQL the lock ends only with its transaction: if the holder's connection
is cut (terminated, timed out, the network gone) while the process lives on, say
paused, PostgreSQL rolls the transaction back as it releases the lock, and the
job's writes are in that transaction, so another instance may take over but the
old holder's result can never be committed. (With the lock on a connection of its
own and the writes on others, as before, it could.) On SQLite the ``flock`` lasts
as long as the holder's open file: only its death or the end of the block frees
it, so while the holder lives nobody else takes over.
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
    whether this instance holds it (never waits for it). On PostgreSQL the block is
    one transaction, so ``alone`` refuses to start inside another."""
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
    """The block runs in one transaction that holds the lock (when it could be had):
    its queries, through Piccolo's current transaction, use the lock's connection,
    and the lock is released by the commit or rollback that ends the block."""
    async with engine.transaction(allow_nested=False) as transaction:
        held = await transaction.connection.fetchval(
            "SELECT pg_try_advisory_xact_lock($1)", advisory_key(name)
        )
        yield bool(held)


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
