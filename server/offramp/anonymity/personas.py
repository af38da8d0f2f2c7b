"""Personas (SPEC §3.4): a handle and a passphrase, nothing else.

The passphrase is stored only as an argon2id hash (RFC 9106 low-memory profile:
64 MiB, 3 passes, 4 lanes — above OWASP's minimum), computed in a worker thread
so the event loop never waits on it. Sessions are random tokens kept in a
cookie; the database holds only their SHA-256, so a database dump cannot be
replayed as a login. Logging out deletes the session everywhere at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY

from offramp.anonymity.tables import Persona, PersonaSession
from offramp.db import write_transaction
from offramp.errors import Conflict, Invalid, NotFound, Unauthorized
from offramp.forum.tables import Post
from offramp.ids import new_id, this_hour

PASSPHRASE_MIN, PASSPHRASE_MAX = 12, 256
HANDLE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{2,39}")
SESSION_DAYS = 30

HASHER = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)
# A hash of a random passphrase, verified when a handle does not exist, so a
# log-in takes as long for an unknown handle as for a wrong passphrase.
_DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class PersonaPost:
    id: str
    thread_id: str
    thread_title: str
    number: int
    status: str
    url: str


def check_handle(handle: str) -> str:
    handle = handle.strip()
    if not HANDLE_PATTERN.fullmatch(handle):
        raise Invalid(
            "A handle is 3 to 40 letters, digits, dots, dashes or underscores, starting with "
            "a letter or digit.",
            field="handle",
        )
    return handle


def check_passphrase(passphrase: str, field: str = "passphrase") -> str:
    if not PASSPHRASE_MIN <= len(passphrase) <= PASSPHRASE_MAX:
        raise Invalid(
            f"A passphrase is {PASSPHRASE_MIN} to {PASSPHRASE_MAX} characters long; a few "
            "unrelated words work well.",
            field=field,
        )
    return passphrase


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Personas:
    """Create, log in, manage and delete personas. Knows nothing of HTTP."""

    async def create(self, handle: str, passphrase: str) -> tuple[str, str]:
        """A new persona, logged in: returns (persona id, session token)."""
        handle = check_handle(handle)
        check_passphrase(passphrase)
        if await Persona.exists().where(Persona.handle_key == handle.casefold()):
            raise Conflict("That handle is taken; choose another.", field="handle")
        hashed = await asyncio.to_thread(HASHER.hash, passphrase)
        persona_id = new_id()
        async with write_transaction():
            await Persona.insert(
                Persona(
                    id=persona_id,
                    handle=handle,
                    handle_key=handle.casefold(),
                    passphrase_hash=hashed,
                    created_at=this_hour(),
                )
            )
        return persona_id, await self._new_session(persona_id)

    async def login(self, handle: str, passphrase: str) -> tuple[str, str]:
        """(persona id, session token) for the right handle and passphrase."""
        row = await Persona.select().where(Persona.handle_key == handle.strip().casefold()).first()
        stored = row["passphrase_hash"] if row else _DUMMY_HASH
        if not await asyncio.to_thread(_verify, stored, passphrase[:PASSPHRASE_MAX]) or not row:
            raise Unauthorized("That handle and passphrase do not match.", field="passphrase")
        if HASHER.check_needs_rehash(stored):
            rehashed = await asyncio.to_thread(HASHER.hash, passphrase)
            await Persona.update({Persona.passphrase_hash: rehashed}).where(Persona.id == row["id"])
        return row["id"], await self._new_session(row["id"])

    async def session_persona(self, token: str) -> str | None:
        """The persona a session token belongs to, if it is live."""
        row = await (
            PersonaSession.select(PersonaSession.persona)
            .where(PersonaSession.token_hash == token_hash(token))
            .where(PersonaSession.expires_at > this_hour())
            .first()
        )
        return row["persona"] if row else None

    async def logout(self, token: str) -> None:
        await PersonaSession.delete().where(PersonaSession.token_hash == token_hash(token))

    async def handle(self, persona_id: str) -> str:
        row = await Persona.select(Persona.handle).where(Persona.id == persona_id).first()
        if row is None:
            raise NotFound("There is no such persona.")
        return row["handle"]

    async def posts(self, persona_id: str, limit: int = 200) -> list[PersonaPost]:
        """The persona's posts, newest first (its owner's view only)."""
        rows = await (
            Post.select(
                Post.id,
                Post.thread,
                Post.seq,
                Post.status,
                Post.thread.title.as_alias("thread_title"),
            )
            .where(Post.persona == persona_id)
            .order_by(Post.created_at, ascending=False)
            .order_by(Post.id)
            .limit(limit)
        )
        return [
            PersonaPost(
                id=row["id"],
                thread_id=row["thread"],
                thread_title=row["thread_title"],
                number=row["seq"],
                status=row["status"],
                url=f"/threads/{row['thread']}#p{row['seq']}",
            )
            for row in rows
        ]

    async def change_passphrase(self, persona_id: str, current: str, new: str) -> None:
        check_passphrase(new, field="new_passphrase")
        row = await Persona.select(Persona.passphrase_hash).where(Persona.id == persona_id).first()
        if row is None or not await asyncio.to_thread(_verify, row["passphrase_hash"], current):
            raise Unauthorized("The current passphrase is not right.", field="passphrase")
        hashed = await asyncio.to_thread(HASHER.hash, new)
        await Persona.update({Persona.passphrase_hash: hashed}).where(Persona.id == persona_id)

    async def delete(self, persona_id: str, passphrase: str) -> None:
        """Delete the persona and its sessions. Its posts stay, no longer linked to it."""
        row = await Persona.select(Persona.passphrase_hash).where(Persona.id == persona_id).first()
        if row is None or not await asyncio.to_thread(_verify, row["passphrase_hash"], passphrase):
            raise Unauthorized("The passphrase is not right.", field="passphrase")
        async with write_transaction():
            await Post.update({Post.persona: None}).where(Post.persona == persona_id)
            await PersonaSession.delete().where(PersonaSession.persona == persona_id)
            await Persona.delete().where(Persona.id == persona_id)

    async def _new_session(self, persona_id: str) -> str:
        token = secrets.token_urlsafe(32)
        await PersonaSession.insert(
            PersonaSession(
                token_hash=token_hash(token),
                persona=persona_id,
                expires_at=this_hour() + timedelta(days=SESSION_DAYS),
            )
        )
        await PersonaSession.delete().where(PersonaSession.expires_at <= this_hour())
        return token


def _verify(stored: str, passphrase: str) -> bool:
    try:
        return HASHER.verify(stored, passphrase)
    except (VerificationError, InvalidHashError):
        return False
