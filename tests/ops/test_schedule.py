"""Scheduled work runs on one instance at a time, and still runs when the instance
holding the lock dies."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import timedelta

from offramp.config import Settings
from offramp.forum.service import Forum
from offramp.ids import this_hour
from offramp.ops.schedule import (
    STATISTICS_REBUILD,
    advisory_key,
    alone,
    rebuild_statistics_when_due,
)
from offramp.stats.service import Statistics
from offramp.stats.tables import StatsRebuild

from ..judges.servers import server_environment

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
    async with (
        alone("test-job") as first,
        alone("test-job") as second,
        alone("another-job") as other,
    ):
        assert (first, second, other) == (True, False, True)
    async with alone("test-job") as again:
        assert again


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
