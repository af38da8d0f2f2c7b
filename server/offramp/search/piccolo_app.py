"""The search feature as a Piccolo app: the index table and its engine structures."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from offramp.search.tables import SearchDocument

APP_CONFIG = AppConfig(
    app_name="search",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[SearchDocument],
    migration_dependencies=["offramp.forum.piccolo_app"],
    commands=[],
)
