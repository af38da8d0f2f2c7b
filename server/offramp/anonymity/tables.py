"""Personas: an optional handle and passphrase, and their server-side sessions.

No e-mail, no recovery address, nothing about the person. The passphrase is kept
only as an argon2id hash; a session is kept only as the SHA-256 of its token.
"""

from __future__ import annotations

from piccolo.columns import ForeignKey, Text, Timestamptz, Varchar
from piccolo.table import Table

from offramp.ids import new_id


class Persona(Table, tablename="anonymity_persona"):
    id = Varchar(length=12, primary_key=True, default=new_id)
    handle = Varchar(length=40, unique=True)  # as chosen, for the persona's own pages
    handle_key = Varchar(length=40, unique=True)  # case-folded, for look-ups
    passphrase_hash = Text()
    created_at = Timestamptz()


class PersonaSession(Table, tablename="anonymity_session"):
    id = Varchar(length=12, primary_key=True, default=new_id)
    token_hash = Varchar(length=64, unique=True)
    persona = ForeignKey(references=Persona, null=False)
    expires_at = Timestamptz(index=True)
