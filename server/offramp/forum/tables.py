"""Forum tables. Ids the public sees are random; times are stored to the hour.

Nothing here can hold a client address, a user agent, an e-mail or a name:
``tests/forum/test_schema_privacy.py`` checks every column.
"""

from __future__ import annotations

from piccolo.columns import (
    Boolean,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

from offramp.ids import new_id

ID_LENGTH = 12


class Category(Table, tablename="forum_category"):
    slug = Varchar(length=40, primary_key=True)
    name = Varchar(length=80)
    description = Text(default="")
    position = Integer(default=0)


class Entity(Table, tablename="forum_entity"):
    """Something posts are about: an employer, a coaching program, a certification."""

    id = Varchar(length=ID_LENGTH, primary_key=True, default=new_id)
    kind = Varchar(length=20)  # employer | program | certification
    name = Varchar(length=120)
    slug = Varchar(length=140, unique=True)
    website = Varchar(length=300, default="")
    description = Text(default="")
    aliases = Text(default="")  # one per line, for display; lookups use EntityAlias
    status = Varchar(length=20, default="approved")  # approved | pending
    # A pending entity's first mention: the thread (or standalone survey) that named it.
    # A mention from anywhere else confirms it; cleared then. Never shown.
    pending_source = Varchar(length=ID_LENGTH, null=True, default=None)
    thread_count = Integer(default=0)
    created_at = Timestamptz()


class EntityAlias(Table, tablename="forum_entity_alias"):
    """Normalised names (name, slug, aliases) that resolve to an entity."""

    id = Varchar(length=ID_LENGTH, primary_key=True, default=new_id)
    entity = ForeignKey(references=Entity, null=False)
    key = Varchar(length=140, unique=True)


class Thread(Table, tablename="forum_thread"):
    id = Varchar(length=ID_LENGTH, primary_key=True, default=new_id)
    title = Varchar(length=150)
    category = ForeignKey(references=Category, null=False)
    entity = ForeignKey(references=Entity, null=True)
    op_ref = Varchar(length=ID_LENGTH)  # author_ref of the opening post: shown as "OP"
    post_count = Integer(default=0)  # every post ever, visible or not: allocates `seq`
    reply_count = Integer(default=0)  # published replies, as readers count them
    status = Varchar(length=20, default="published")  # published | held | scheduled
    locked = Boolean(default=False)
    created_at = Timestamptz()
    last_activity = Timestamptz(index=True, index_method=IndexMethod.btree)


class ThreadRoleTag(Table, tablename="forum_thread_role_tag"):
    """A role category (SPEC §2) a thread is about; indexed by (tag, thread) to filter."""

    id = Varchar(length=ID_LENGTH, primary_key=True, default=new_id)
    thread = ForeignKey(references=Thread, null=False)
    tag = Varchar(length=40)


class Post(Table, tablename="forum_post"):
    id = Varchar(length=ID_LENGTH, primary_key=True, default=new_id)
    thread = ForeignKey(references=Thread, null=False)
    seq = Integer()  # 1 for the opening post, then 2, 3, ... inside the thread
    author_ref = Varchar(length=ID_LENGTH)  # opaque; pseudonym = HMAC(secret, ref, thread)
    body_md = Text(default="")
    body_html = Text(default="")
    # published | held (identifying details: awaits a moderator) | scheduled
    # (delayed publication) | deleted (by its author) | withdrawn (deleted before it
    # was ever public) | hidden (by a moderator, with a public reason) | under_review
    # (a takedown request is being reviewed; a notice takes its place)
    status = Varchar(length=20, default="published")
    revision_count = Integer(default=1)
    key_hash = Varchar(length=64, unique=True)  # SHA-256 of the edit key, hex
    findings = Text(default="")  # kinds of identifying detail the author confirmed, comma-separated
    moderation_note = Text(default="")  # public reason shown in place of a hidden post
    publish_at = Timestamptz(null=True, default=None)  # delayed publication, to the hour
    # The persona that manages this post, if any. Never shown: public pages and the
    # API only see the thread-scoped pseudonym. Cleared when the persona is deleted.
    persona = Varchar(length=ID_LENGTH, null=True, default=None, index=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class PostRevision(Table, tablename="forum_post_revision"):
    """Append-only history of a post's text; emptied when its author deletes it."""

    id = Varchar(length=ID_LENGTH, primary_key=True, default=new_id)
    post = ForeignKey(references=Post, null=False)
    number = Integer()
    title = Varchar(length=150, null=True)  # the thread title, for opening posts
    body_md = Text(default="")
    created_at = Timestamptz()
