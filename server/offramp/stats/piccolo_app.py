"""Published statistics as a Piccolo app."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from offramp.stats.tables import StatsCurve, StatsFigure, StatsRebuild, StatsRollup

APP_CONFIG = AppConfig(
    app_name="stats",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[StatsRebuild, StatsRollup, StatsFigure, StatsCurve],
    migration_dependencies=["offramp.surveys.piccolo_app"],
    commands=[],
)
