"""Scheduled work runs on one instance at a time, still runs when the instance
holding the lock dies, and a holder that lost its lock cannot write its result."""

from __future__ import annotations

import asyncio
import contextvars
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta

import pytest
from piccolo.engine.postgres import PostgresEngine

from offramp.config import Settings
from offramp.db import current_engine
from offramp.forum import schemas
from offramp.forum.service import Author, Forum, Publishing
from offramp.ids import this_hour
from offramp.ops.schedule import (
    STATISTICS_REBUILD,
    advisory_key,
    alone,
    rebuild_statistics_when_due,
)
from offramp.stats.service import Statistics
from offramp.stats.tables import StatsRebuild

from ..conftest import Backend
from ..forum.factories import make_thread
from ..judges.servers import server_environment

DELAYED = Publishing(delay=True)

HOLDER = textwrap.dedent(
    """
    import asyncio, sys
    from offramp import db
    from offramp.config import Settings
    from offramp.ops.schedule import alone

    async def main():
        settings = Settings.load()
        engine = db.bind(settings)
        await db.open_pool(engine, settings)
        async with alone(sys.argv[1]) as held:
            print("held" if held else "refused", flush=True)
            await asyncio.sleep(120)

    asyncio.run(main())
    """
)


async def test_of_many_instances_finding_the_rebuild_due_one_rebuilds(forum: Forum):
    statistics = Statistics(k=11)
    results = await asyncio.gather(
        *(rebuild_statistics_when_due(statistics, every_hours=24) for _ in range(4))
    )
    assert results.count(True) == 1
    assert await StatsRebuild.count() == 1
    assert not await rebuild_statistics_when_due(statistics, every_hours=24), "not due again"
    tomorrow = this_hour() + timedelta(hours=25)
    assert await rebuild_statistics_when_due(statistics, every_hours=24, now=tomorrow)
    assert await StatsRebuild.count() == 2


async def test_a_held_lock_refuses_others_until_released(forum: Forum):
    outside = contextvars.copy_context()  # another instance shares no transaction

    async def other(name: str) -> bool:
        async with alone(name) as held:
            return held

    def elsewhere(name: str) -> asyncio.Task:
        return asyncio.create_task(other(name), context=outside.copy())

    async with alone("test-job") as first:
        assert first
        assert await elsewhere("test-job") is False
        assert await elsewhere("another-job") is True
    assert await elsewhere("test-job") is True


class PausedRebuild(Statistics):
    """A rebuild that stops after it began, until told to go on (a paused instance):
    it has the lock, and its writes are still to come."""

    def __init__(self) -> None:
        super().__init__(k=11)
        self.started = asyncio.Event()
        self.go_on = asyncio.Event()
        self.backend_pid: int | None = None

    async def rebuild(self, now: datetime | None = None) -> dict:
        if isinstance(current_engine(), PostgresEngine):
            rows = await self._query("SELECT pg_backend_pid() AS pid")
            self.backend_pid = rows[0]["pid"]
        self.started.set()
        await self.go_on.wait()
        return await super().rebuild(now)


async def test_while_a_holder_is_paused_nobody_takes_over(forum: Forum):
    paused = PausedRebuild()
    holder = asyncio.create_task(rebuild_statistics_when_due(paused, every_hours=24))
    await asyncio.wait_for(paused.started.wait(), 10)
    assert not await rebuild_statistics_when_due(Statistics(k=11), every_hours=24)
    paused.go_on.set()
    assert await holder
    assert await StatsRebuild.count() == 1


async def test_a_holder_whose_lock_was_taken_over_cannot_write(forum: Forum, backend: Backend):
    """The fencing question (issue 8): on PostgreSQL a lock can be lost while its
    holder lives on, when its connection is cut. The holder's writes were in the
    lock's transaction, so they are gone with it: one rebuild, the new holder's."""
    if backend.name != "postgres":
        pytest.skip("SQLite's flock cannot be lost while its holder lives (test above)")
    paused = PausedRebuild()
    holder = asyncio.create_task(rebuild_statistics_when_due(paused, every_hours=24))
    await asyncio.wait_for(paused.started.wait(), 10)
    await StatsRebuild.raw("SELECT pg_terminate_backend({})", paused.backend_pid)
    deadline = time.monotonic() + 10
    while not await rebuild_statistics_when_due(Statistics(k=11), every_hours=24):
        assert time.monotonic() < deadline, "nobody took over the lost lock"
        await asyncio.sleep(0.1)
    paused.go_on.set()  # the old holder wakes up and goes on with its rebuild
    with pytest.raises(Exception):  # noqa: B017 - whichever error the dead connection gives
        await holder
    assert await StatsRebuild.count() == 1


async def test_the_lock_is_freed_when_its_holder_dies(forum: Forum, settings: Settings):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, STATISTICS_REBUILD],
        env=server_environment(settings),
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        async with alone(STATISTICS_REBUILD) as mine:
            assert not mine, "another instance holds it"
    finally:
        os.killpg(holder.pid, signal.SIGKILL)  # the instance dies holding the lock
        holder.wait(timeout=30)
    deadline = time.monotonic() + 10
    while True:
        async with alone(STATISTICS_REBUILD) as mine:
            if mine:
                break
        assert time.monotonic() < deadline, "the dead holder's lock was never released"
        await asyncio.sleep(0.1)
    assert await rebuild_statistics_when_due(Statistics(k=11), every_hours=24)


def test_advisory_keys_are_stable_and_distinct():
    assert advisory_key(STATISTICS_REBUILD) == advisory_key("statistics-rebuild")
    assert advisory_key("a") != advisory_key("b")
    assert -(2**63) <= advisory_key("a") < 2**63


async def test_instances_publishing_delayed_posts_at_once_publish_each_once(forum: Forum):
    """Delayed publication needs no lock: four instances' rounds at the same moment
    publish every due reply exactly once, and count it once."""
    thread = await make_thread(forum)
    for n in range(6):
        await forum.create_reply(
            thread.thread.id, schemas.ReplyCreate(body=f"Later {n}."), Author(), DELAYED
        )
    later = this_hour() + timedelta(hours=25)
    rounds = await asyncio.gather(*(forum.publish_due(now=later) for _ in range(4)))
    assert sum(rounds) == 6
    assert (await forum.thread(thread.thread.id)).reply_count == 6
