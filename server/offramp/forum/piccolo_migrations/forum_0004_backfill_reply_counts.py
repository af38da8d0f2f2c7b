"""Threads created before `reply_count` existed: every reply then was visible."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from offramp.db import current_engine

ID = "2026-11-25T10:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "backfill visible reply counts"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="forum", description=DESCRIPTION)

    async def backfill():
        await current_engine().run_ddl(
            "UPDATE forum_thread SET reply_count = post_count - 1 "
            "WHERE reply_count = 0 AND post_count > 1"
        )

    manager.add_raw(backfill)
    return manager
