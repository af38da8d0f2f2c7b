"""Indexes for the "most replies" and "unanswered" orders of thread lists, site-wide,
per category and per entity: a page after a cursor is a walk down one of them."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from offramp.db import current_engine

ID = "2026-11-25T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "thread indexes for sorting by replies"

INDEXES = [
    "CREATE INDEX forum_thread_replies"
    " ON forum_thread (reply_count DESC, last_activity DESC, id DESC)",
    "CREATE INDEX forum_thread_category_replies"
    " ON forum_thread (category, reply_count DESC, last_activity DESC, id DESC)",
    "CREATE INDEX forum_thread_entity_replies"
    " ON forum_thread (entity, reply_count DESC, last_activity DESC, id DESC)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="forum", description=DESCRIPTION)

    async def create_indexes():
        for statement in INDEXES:
            await current_engine().run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
