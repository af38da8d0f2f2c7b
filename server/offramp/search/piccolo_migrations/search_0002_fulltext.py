"""The engine's full-text structures beside ``search_document``.

SQLite: an FTS5 table whose content lives in ``search_document`` (external content),
kept in step by triggers, so every change to a document is indexed in the same
transaction. Porter stemming and accent folding make "résumé" find "resumes".

PostgreSQL: a ``tsvector`` generated from the title (weight A) and the text (weight B),
a GIN index over it, and a text search configuration ``offramp_search``: English
stemming with accents folded by the ``unaccent`` extension (shipped with PostgreSQL's
contrib modules and trusted, so the database owner may create it).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.postgres import PostgresEngine

from offramp.db import current_engine

ID = "2026-11-25T11:02:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "full-text index"

COMMON = [
    "CREATE INDEX search_document_category ON search_document (category, id)",
    "CREATE INDEX search_document_entity ON search_document (entity, id)",
    "CREATE INDEX search_document_created ON search_document (created_at)",
]

SQLITE = [
    "CREATE VIRTUAL TABLE search_fts USING fts5(title, body, content='search_document',"
    " content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER search_document_inserted AFTER INSERT ON search_document BEGIN"
    " INSERT INTO search_fts (rowid, title, body) VALUES (new.id, new.title, new.body);"
    " END",
    "CREATE TRIGGER search_document_deleted AFTER DELETE ON search_document BEGIN"
    " INSERT INTO search_fts (search_fts, rowid, title, body)"
    " VALUES ('delete', old.id, old.title, old.body);"
    " END",
    "CREATE TRIGGER search_document_updated AFTER UPDATE OF title, body ON search_document"
    " BEGIN"
    " INSERT INTO search_fts (search_fts, rowid, title, body)"
    " VALUES ('delete', old.id, old.title, old.body);"
    " INSERT INTO search_fts (rowid, title, body) VALUES (new.id, new.title, new.body);"
    " END",
]

POSTGRES = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE TEXT SEARCH CONFIGURATION offramp_search (COPY = english)",
    "ALTER TEXT SEARCH CONFIGURATION offramp_search"
    " ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem",
    "ALTER TABLE search_document ADD COLUMN tsv tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('offramp_search', title), 'A') || "
    "setweight(to_tsvector('offramp_search', body), 'B')) STORED",
    "CREATE INDEX search_document_tsv ON search_document USING gin (tsv)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="search", description=DESCRIPTION)

    async def create_fulltext_structures():
        engine = current_engine()
        engine_specific = POSTGRES if isinstance(engine, PostgresEngine) else SQLITE
        for statement in COMMON + engine_specific:
            await engine.run_ddl(statement)

    manager.add_raw(create_fulltext_structures)
    return manager
