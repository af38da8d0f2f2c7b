"""The forum feature as a Piccolo app: its tables and migrations."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from offramp.forum.tables import (
    Category,
    Entity,
    EntityAlias,
    Post,
    PostRevision,
    Thread,
    ThreadRoleTag,
)

APP_CONFIG = AppConfig(
    app_name="forum",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Category, Entity, EntityAlias, Thread, Post, PostRevision, ThreadRoleTag],
    migration_dependencies=[],
    commands=[],
)
