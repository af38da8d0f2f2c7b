"""The search index: one row per findable post, kept by ``SearchIndex`` in step with
the forum, inside the forum's own write transactions.

A row exists only while its post and its thread are published. The thread's title
is indexed with its opening post; the category, entity and date are copied here so
that filters need no join. The full-text structures that sit beside this table
depend on the engine (see ``piccolo_migrations/search_0001_index.py``): an FTS5
external-content table on SQLite, a generated ``tsvector`` column with a GIN index
on PostgreSQL.
"""

from __future__ import annotations

from piccolo.columns import BigInt, ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from offramp.forum.tables import Post, Thread


class SearchDocument(Table, tablename="search_document"):
    """A published post as the index sees it: plain text, no markup."""

    # The sort key: the publication hour, then 40 bits of the post's random id (see
    # ``document_key``). Newest-first is key order, which both engines walk from an
    # index without sorting; FTS5 addresses its rows by this key.
    id = BigInt(primary_key=True)
    post = ForeignKey(references=Post, null=False, unique=True, on_delete=OnDelete.cascade)
    thread = ForeignKey(references=Thread, null=False, index=True, on_delete=OnDelete.cascade)
    category = Varchar(length=40)
    entity = Varchar(length=12, null=True, default=None)
    created_at = Timestamptz()  # the post's day of publication, to the hour
    title = Text(default="")  # the thread's title, on its opening post only
    body = Text(default="")  # the post's text without markup
