"""Role tags on threads (SPEC §2): one row per thread and role category. Its indexes
come in forum_0008 (Piccolo runs a migration's raw steps before its tables)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import ForeignKey, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

from offramp.ids import new_id

ID = "2026-11-25T14:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "role tags on threads"


class Thread(Table, tablename="forum_thread", schema=None):
    id = Varchar(length=12, default=new_id, null=False, primary_key=True)


def _params(**overrides) -> dict:
    return {
        "null": False,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
        **overrides,
    }


COLUMNS = [
    ("id", Varchar, _params(length=12, default=new_id, primary_key=True)),
    (
        "thread",
        ForeignKey,
        _params(
            references=Thread,
            on_delete=OnDelete.cascade,
            on_update=OnUpdate.cascade,
            target_column=None,
        ),
    ),
    ("tag", Varchar, _params(length=40, default="")),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="forum", description=DESCRIPTION)
    manager.add_table(
        class_name="ThreadRoleTag", tablename="forum_thread_role_tag", schema=None, columns=None
    )
    for name, column_class, params in COLUMNS:
        manager.add_column(
            table_class_name="ThreadRoleTag",
            tablename="forum_thread_role_tag",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )
    return manager
