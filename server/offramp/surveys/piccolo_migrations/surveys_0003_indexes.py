"""Indexes so that a survey's write and an entity page cost the same at 10,000 and at
1,000,000 surveys (bench/stats.py found both growing with the table): a survey's
programs and revisions by survey, surveys and interview reports by the entity they
name, and the (few) surveys held out as a burst in a partial index of their own."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from offramp.db import current_engine

ID = "2026-11-25T15:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "indexes for survey writes and entity pages"

INDEXES = [
    "CREATE INDEX survey_program_survey ON survey_program (survey)",
    "CREATE INDEX survey_program_entity ON survey_program (entity, survey)",
    "CREATE INDEX survey_revision_survey ON survey_revision (survey, number)",
    "CREATE INDEX interview_report_employer ON interview_report (employer)",
    "CREATE INDEX survey_held_out ON survey (id) WHERE flagged AND NOT excluded",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="surveys", description=DESCRIPTION)

    async def create_indexes():
        for statement in INDEXES:
            await current_engine().run_ddl(statement)

    manager.add_raw(create_indexes)
    return manager
