from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Text, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-25T14:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "log entries about entities and flagged surveys"

COMMON = {
    "primary_key": False,
    "unique": False,
    "index": False,
    "index_method": IndexMethod.btree,
    "choices": None,
    "db_column_name": None,
    "secret": False,
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="moderation", description=DESCRIPTION)
    manager.add_column(
        table_class_name="LogEntry",
        tablename="moderation_log",
        column_name="entity",
        db_column_name="entity",
        column_class_name="Varchar",
        column_class=Varchar,
        params={**COMMON, "length": 12, "default": None, "null": True},
        schema=None,
    )
    manager.add_column(
        table_class_name="LogEntry",
        tablename="moderation_log",
        column_name="detail",
        db_column_name="detail",
        column_class_name="Text",
        column_class=Text,
        params={**COMMON, "default": "", "null": False},
        schema=None,
    )
    return manager
