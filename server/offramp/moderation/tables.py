"""Moderation tables: moderator accounts and sessions, reports, takedown requests and
the public log.

Reports and takedown requests are anonymous: nothing here can hold a client
address, a user agent or anything else about the person who sent them
(``tests/test_schema_privacy.py`` checks every column). A moderator's password is
kept only as an argon2id hash, a session and a recovery code only as SHA-256, and
the TOTP secret encrypted with a key derived from the server's secret key.
"""

from __future__ import annotations

from piccolo.columns import Boolean, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table

from offramp.forum.tables import Post
from offramp.ids import new_id


class Moderator(Table, tablename="moderation_moderator"):
    id = Varchar(length=12, primary_key=True, default=new_id)
    handle = Varchar(length=40, unique=True)  # as chosen; never shown in public
    handle_key = Varchar(length=40, unique=True)  # case-folded, for look-ups
    role = Varchar(length=20, default="moderator")  # moderator | admin
    password_hash = Text()
    totp_secret = Text(default="")  # encrypted; the pending one until enrolment is done
    totp_enabled = Boolean(default=False)
    totp_last_step = Integer(default=0)  # the last 30-second step accepted: no replays
    disabled = Boolean(default=False)
    created_at = Timestamptz()


class ModeratorSession(Table, tablename="moderation_session"):
    """A server-side session; ``verified`` once the second factor was given."""

    id = Varchar(length=12, primary_key=True, default=new_id)
    token_hash = Varchar(length=64, unique=True)
    moderator = ForeignKey(references=Moderator, null=False)
    verified = Boolean(default=False)
    expires_at = Timestamptz(index=True)


class RecoveryCode(Table, tablename="moderation_recovery_code"):
    """Single-use codes for when the authenticator is lost; deleted once used."""

    id = Varchar(length=12, primary_key=True, default=new_id)
    moderator = ForeignKey(references=Moderator, null=False)
    code_hash = Varchar(length=64, unique=True)


class Report(Table, tablename="moderation_report"):
    """One reader's report of one post. Reports of a post are grouped in the queue."""

    id = Varchar(length=12, primary_key=True, default=new_id)
    post = ForeignKey(references=Post, null=False, index=True)
    reason = Varchar(length=30)
    note = Text(default="")  # seen by moderators only
    status = Varchar(length=20, default="open", index=True)  # open | closed
    created_at = Timestamptz()  # to the hour


class Takedown(Table, tablename="moderation_takedown"):
    """A claim that a post is false or unlawful, from an organisation, and the post's
    author's answer."""

    id = Varchar(length=12, primary_key=True, default=new_id)
    post = ForeignKey(references=Post, null=False, index=True)
    organisation = Varchar(length=120)
    claim = Text()
    response = Text(default="")  # the author's answer, sent with the edit key or persona
    status = Varchar(length=20, default="open", index=True)  # open | upheld | rejected
    created_at = Timestamptz()  # to the hour


class LogEntry(Table, tablename="moderation_log"):
    """Every moderation action, public. The moderator is kept for internal audit and
    shown to nobody: the public log names the role only."""

    id = Serial(primary_key=True)
    action = Varchar(length=30)
    role = Varchar(length=20)  # moderator | admin | public (a takedown request arriving)
    moderator = Varchar(length=12, null=True, default=None)
    post = Varchar(length=12, null=True, default=None)
    thread = Varchar(length=12, null=True, default=None)
    revision = Integer(null=True, default=None)
    entity = Varchar(length=12, null=True, default=None)  # an entity acted on (or kept)
    reason = Text(default="")  # public
    detail = Text(default="")  # public: what the action did, in words (e.g. a merge)
    prior_status = Varchar(length=20, default="")  # what "restore" goes back to
    created_at = Timestamptz()  # to the hour; shown to the day
