"""The SQLite connection pool (offramp.db.PooledSQLiteEngine): kept connections,
handed on first come, first served, never lost to a cancelled waiter."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from offramp.db import PooledSQLiteEngine


async def test_a_freed_connection_goes_to_the_longest_waiter(tmp_path: Path):
    engine = PooledSQLiteEngine(str(tmp_path / "pool.sqlite3"), pool_size=1)
    held = await engine.acquire()
    order: list[str] = []

    async def use(name: str) -> None:
        connection = await engine.acquire()
        order.append(name)
        await asyncio.sleep(0)
        await engine.release(connection)

    first = asyncio.create_task(use("waited first"))
    second = asyncio.create_task(use("waited second"))
    await asyncio.sleep(0.01)  # both are waiting now
    # A request that arrives as the connection comes free: it is ready to run before
    # the waiter that the release wakes, as new requests are on a busy server.
    late = asyncio.create_task(use("arrived later"))
    await engine.release(held)
    await asyncio.gather(first, second, late)
    assert order == ["waited first", "waited second", "arrived later"]
    await engine.close_pool()


@pytest.mark.parametrize("freed_first", [True, False], ids=["given-then-cancelled", "cancelled"])
async def test_a_cancelled_waiter_loses_no_connection_and_leaves_the_queue(
    tmp_path: Path, freed_first: bool
):
    """Cancelled after the connection was handed to it (before it ran again), the
    waiter passes it on; cancelled while still waiting, it leaves the queue. Either
    way the next request gets the pool's one connection, and it works."""
    engine = PooledSQLiteEngine(str(tmp_path / "pool.sqlite3"), pool_size=1)
    held = await engine.acquire()
    gone = asyncio.create_task(engine.acquire())
    await asyncio.sleep(0.01)
    if freed_first:
        await engine.release(held)
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    waiting = asyncio.create_task(engine.acquire())
    await asyncio.sleep(0.01)
    if not freed_first:
        await engine.release(held)
    again = await asyncio.wait_for(waiting, timeout=5)
    rows = await (await again.execute("SELECT 1 AS one")).fetchall()
    assert rows == [{"one": 1}]
    await engine.release(again)
    await engine.close_pool()
