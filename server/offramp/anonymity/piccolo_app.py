"""The anonymity feature as a Piccolo app: personas and their sessions."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from offramp.anonymity.tables import Persona, PersonaSession

APP_CONFIG = AppConfig(
    app_name="anonymity",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Persona, PersonaSession],
    migration_dependencies=["offramp.forum.piccolo_app"],
    commands=[],
)
