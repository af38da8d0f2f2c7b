"""Entities that posters add are pending until a second, independent mention: the
first mention's source is kept to tell the two apart. On PostgreSQL, a trigram index
over the names and aliases finds near-duplicates ("Did you mean …?"); ``pg_trgm`` ships
with PostgreSQL's contrib modules and is trusted, so the database owner may create it."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.engine.postgres import PostgresEngine

from offramp.db import current_engine

ID = "2026-11-25T15:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "pending entities and near-duplicate look-ups"

POSTGRES = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    'CREATE INDEX forum_entity_alias_trigram ON forum_entity_alias USING gin ("key" gin_trgm_ops)',
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="forum", description=DESCRIPTION)

    manager.add_column(
        table_class_name="Entity",
        tablename="forum_entity",
        column_name="pending_source",
        db_column_name="pending_source",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 12,
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    async def trigram_index():
        engine = current_engine()
        if isinstance(engine, PostgresEngine):
            for statement in POSTGRES:
                await engine.run_ddl(statement)

    manager.add_raw(trigram_index)
    return manager
