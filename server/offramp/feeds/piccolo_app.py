"""The feeds feature as a Piccolo app: no tables of its own, only the indexes its
feeds walk (new threads by the day they were started)."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

APP_CONFIG = AppConfig(
    app_name="feeds",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[],
    migration_dependencies=["offramp.forum.piccolo_app"],
    commands=[],
)
