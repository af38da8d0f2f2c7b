"""Indexes of the role tags: (tag, thread) for the ``role`` filter of thread lists and
searches, (thread, tag) — unique — to show the tags of a page of threads at once."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from offramp.db import current_engine

ID = "2026-11-25T14:31:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "role tag indexes"

INDEXES = [
    "CREATE UNIQUE INDEX forum_thread_role_tag_thread ON forum_thread_role_tag (thread, tag)",
    "CREATE INDEX forum_thread_role_tag_tag ON forum_thread_role_tag (tag, thread)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="forum", description=DESCRIPTION)

    async def create_indexes():
        for statement in INDEXES:
            await current_engine().run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
