"""Outcome surveys and interview reports as a Piccolo app."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from offramp.surveys.tables import InterviewReport, Survey, SurveyProgram, SurveyRevision

APP_CONFIG = AppConfig(
    app_name="surveys",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Survey, SurveyRevision, SurveyProgram, InterviewReport],
    migration_dependencies=["offramp.forum.piccolo_app"],
    commands=[],
)
