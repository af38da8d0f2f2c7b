"""Composite indexes for keyset pagination, and the five fixed categories (SPEC §2)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from offramp.db import current_engine

ID = "2026-11-25T10:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "indexes and categories"

INDEXES = [
    "CREATE INDEX forum_thread_latest ON forum_thread (last_activity DESC, id DESC)",
    "CREATE INDEX forum_thread_category_latest"
    " ON forum_thread (category, last_activity DESC, id DESC)",
    "CREATE INDEX forum_thread_entity_latest ON forum_thread (entity, last_activity DESC, id DESC)",
    "CREATE UNIQUE INDEX forum_post_thread_seq ON forum_post (thread, seq)",
    "CREATE UNIQUE INDEX forum_revision_post_number ON forum_post_revision (post, number)",
    "CREATE INDEX forum_entity_alias_entity ON forum_entity_alias (entity)",
    "CREATE INDEX forum_entity_kind_name ON forum_entity (kind, name)",
]

CATEGORIES = [
    (
        "employers",
        "Employers & roles",
        "Who hires physicians for non-clinical work, and what the roles are really like.",
        1,
    ),
    (
        "interviews",
        "Interviews",
        "How the interviews went: stages, questions, outcomes and the reasons given.",
        2,
    ),
    (
        "coaching",
        "Coaching, courses & boards",
        "Paid coaching programs, courses, certifications "
        "and membership boards: what they cost and what they delivered.",
        3,
    ),
    (
        "getting-started",
        "Getting started",
        "First steps, finances, contracts and questions before leaving clinical practice.",
        4,
    ),
    ("off-topic", "Off-topic", "Everything else.", 5),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="forum", description=DESCRIPTION)

    async def create_indexes_and_categories():
        engine = current_engine()
        for statement in INDEXES:
            await engine.run_ddl(statement)
        for slug, name, description, position in CATEGORIES:
            await engine.run_ddl(
                "INSERT INTO forum_category (slug, name, description, position) VALUES "
                f"({_quote(slug)}, {_quote(name)}, {_quote(description)}, {position})"
            )

    manager.add_raw(create_indexes_and_categories)
    return manager


def _quote(text: str) -> str:
    """SQL string literal for the constants above (no user input reaches this)."""
    return "'" + text.replace("'", "''") + "'"
