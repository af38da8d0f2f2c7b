"""The moderation feature as a Piccolo app: moderators, reports, takedowns, the log."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from offramp.moderation.tables import (
    LogEntry,
    Moderator,
    ModeratorSession,
    RecoveryCode,
    Report,
    Takedown,
)

APP_CONFIG = AppConfig(
    app_name="moderation",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Moderator, ModeratorSession, RecoveryCode, Report, Takedown, LogEntry],
    migration_dependencies=["offramp.forum.piccolo_app"],
    commands=[],
)
