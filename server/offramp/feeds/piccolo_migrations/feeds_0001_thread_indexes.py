"""Indexes for "the newest threads" (site-wide, per category, per entity): a feed walks
the first 30 entries of one of them, whatever the number of threads."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from offramp.db import current_engine

ID = "2026-11-25T12:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "thread indexes for feeds"

INDEXES = [
    "CREATE INDEX feeds_thread_newest ON forum_thread (created_at DESC, id DESC)",
    "CREATE INDEX feeds_thread_category_newest"
    " ON forum_thread (category, created_at DESC, id DESC)",
    "CREATE INDEX feeds_thread_entity_newest ON forum_thread (entity, created_at DESC, id DESC)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="feeds", description=DESCRIPTION)

    async def create_indexes():
        for statement in INDEXES:
            await current_engine().run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
