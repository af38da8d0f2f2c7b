"""What an entity page and a survey's write read is found through indexes, so their cost
does not grow with the number of surveys (bench/stats.py measures it at 1,000,000)."""

from __future__ import annotations

import pytest
from piccolo.engine.postgres import PostgresEngine

from offramp.moderation.entities import BURSTS
from offramp.stats.service import HELD_OUT
from offramp.surveys.tables import Survey

QUERIES = {
    "held out, on every entity page": (HELD_OUT.format("'e1'", "'e1'"), "survey_held_out"),
    "bursts, in the moderation queue": (BURSTS, "survey_held_out"),
    "a survey's programs, replaced on every write": (
        "DELETE FROM survey_program WHERE survey = 's1'",
        "survey_program_survey",
    ),
    "a survey's revisions, read after every write": (
        "SELECT * FROM survey_revision WHERE survey = 's1' ORDER BY number",
        "survey_revision_survey",
    ),
    "surveys naming a program": (
        "SELECT survey FROM survey_program WHERE entity = 'e1'",
        "survey_program_entity",
    ),
    "interview reports about an employer": (
        "SELECT * FROM interview_report WHERE employer = 'e1'",
        "interview_report_employer",
    ),
}


async def plan(sql: str) -> str:
    """The engine's plan; PostgreSQL is told to avoid table scans where it can, so a
    plan that still scans the table has no index to use."""
    engine = Survey._meta.db
    if isinstance(engine, PostgresEngine):
        async with engine.transaction():
            for setting in ("enable_seqscan", "enable_bitmapscan"):
                await engine.run_ddl(f"SET LOCAL {setting} = off")
            rows = await Survey.raw("EXPLAIN " + sql)
            return "\n".join(row["QUERY PLAN"] for row in rows)
    rows = await Survey.raw("EXPLAIN QUERY PLAN " + sql)
    return "\n".join(row["detail"] for row in rows)


@pytest.mark.parametrize("name", list(QUERIES))
async def test_reads_of_the_write_path_and_entity_page_use_an_index(forum, name: str):
    sql, index = QUERIES[name]
    found = await plan(sql)
    assert index in found, found
