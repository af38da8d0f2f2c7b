"""Moderator accounts (SPEC §3b): argon2id passwords, a TOTP second factor,
single-use recovery codes and server-side sessions. Knows nothing of HTTP.

- Passwords: 12 to 256 characters (15 or more recommended), hashed with argon2id
  (RFC 9106 low-memory profile: 64 MiB, 3 passes, 4 lanes — above OWASP's minimum)
  in a worker thread, and re-hashed at log-in whenever the parameters change.
- TOTP (RFC 6238, 30-second steps, one step of clock drift allowed) enrolled on the
  web after the first password log-in; a code is accepted once. The secret is kept
  encrypted (Fernet) with a key derived from the server's secret key, so a copy of
  the database alone does not give away the second factor.
- Sessions: a random token in a cookie, its SHA-256 in the database. A session is
  "verified" only after the second factor; the token is replaced at that moment.
  Verified sessions last 8 hours, half-finished log-ins 10 minutes. Logging out
  everywhere, or disabling the account, ends them all.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY
from cryptography.fernet import Fernet, InvalidToken

from offramp.anonymity.personas import check_handle
from offramp.db import write_transaction
from offramp.errors import Conflict, Invalid, NotFound, Unauthorized
from offramp.ids import new_id, this_hour
from offramp.moderation.tables import Moderator, ModeratorSession, RecoveryCode

PASSWORD_MIN, PASSWORD_RECOMMENDED, PASSWORD_MAX = 12, 15, 256
ROLES = ("moderator", "admin")
SESSION_HOURS = 8
PENDING_MINUTES = 10
RECOVERY_CODE_COUNT = 10
TOTP_ISSUER = "Offramp"
TOTP_DRIFT_STEPS = 1  # a code from the step before or after is accepted too

HASHER = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)
# Verified when the handle does not exist, so an unknown handle costs the same time.
_DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(16))
_CODE_ALPHABET = "23456789abcdefghijkmnpqrstuvwxyz"  # as ids: no look-alikes

LOGIN_FAILED = "That handle and password do not match an active moderator account."


@dataclass(frozen=True)
class Identity:
    """Who holds a live moderator session."""

    moderator_id: str
    role: str
    verified: bool  # the second factor was given
    totp_enabled: bool
    token: str


@dataclass(frozen=True)
class Enrolment:
    """What a moderator needs to set up an authenticator app."""

    secret: str  # base32, to type in by hand
    uri: str  # otpauth://, as in the QR code
    qr_svg: str  # the QR code as inline SVG


@dataclass(frozen=True)
class Account:
    handle: str
    role: str
    sessions: int
    recovery_codes_left: int


def check_password(password: str) -> str:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise Invalid(
            f"A moderator password is {PASSWORD_MIN} to {PASSWORD_MAX} characters long "
            f"({PASSWORD_RECOMMENDED} or more recommended).",
            field="password",
        )
    return password


def password_advice(password: str) -> str | None:
    """A warning for an accepted but short password."""
    if len(password) < PASSWORD_RECOMMENDED:
        return (
            f"This password is accepted, but {PASSWORD_RECOMMENDED} or more characters are "
            "recommended: a few unrelated words work well."
        )
    return None


def check_role(role: str) -> str:
    if role not in ROLES:
        raise Invalid(f"A role is one of: {', '.join(ROLES)}.", field="role")
    return role


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_code(code: str) -> str:
    """A typed code without spaces or dashes, lower case."""
    return "".join(code.split()).replace("-", "").lower()


def new_recovery_code() -> str:
    """80 random bits, shown as four groups of four characters."""
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def qr_svg(uri: str) -> str:
    """``uri`` as a QR code in inline SVG, dark on light whatever the page's colours."""
    return segno.make(uri, error="m").svg_inline(
        scale=4, dark="#000", light="#fff", title="QR code for your authenticator app"
    )


def _verify(stored: str, password: str) -> bool:
    try:
        return HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _now() -> datetime:
    return datetime.now(UTC)


class Moderators:
    """Create, disable and log in moderators. ``secret`` encrypts TOTP secrets."""

    def __init__(self, secret: bytes, clock=time.time) -> None:
        key = hmac.new(secret, b"offramp moderation totp secrets", hashlib.sha256).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))
        self._clock = clock

    # -- accounts (the CLI) ---------------------------------------------------------------

    async def add(self, handle: str, password: str, role: str = "moderator") -> str:
        """A new moderator, who enrols TOTP at the first log-in. Returns the id."""
        handle = check_handle(handle)
        check_password(password)
        check_role(role)
        if await Moderator.exists().where(Moderator.handle_key == handle.casefold()):
            raise Conflict("A moderator with that handle exists.", field="handle")
        hashed = await asyncio.to_thread(HASHER.hash, password)
        moderator_id = new_id()
        async with write_transaction():
            await Moderator.insert(
                Moderator(
                    id=moderator_id,
                    handle=handle,
                    handle_key=handle.casefold(),
                    role=role,
                    password_hash=hashed,
                    created_at=this_hour(),
                )
            )
        return moderator_id

    async def disable(self, handle: str) -> None:
        """No more log-ins; every session of the account ends now."""
        async with write_transaction():
            updated = await (
                Moderator.update({Moderator.disabled: True})
                .where(Moderator.handle_key == handle.strip().casefold())
                .returning(Moderator.id)
            )
            if not updated:
                raise NotFound("There is no moderator with that handle.", field="handle")
            await ModeratorSession.delete().where(ModeratorSession.moderator == updated[0]["id"])

    async def reset_second_factor(self, handle: str) -> None:
        """For a moderator who lost both the authenticator and the recovery codes (an
        operator's or admin's decision, made off the web): the TOTP secret and recovery
        codes are gone, every session ends, and the next log-in enrols anew."""
        async with write_transaction():
            updated = await (
                Moderator.update(
                    {
                        Moderator.totp_secret: "",
                        Moderator.totp_enabled: False,
                        Moderator.totp_last_step: 0,
                    }
                )
                .where(Moderator.handle_key == handle.strip().casefold())
                .returning(Moderator.id)
            )
            if not updated:
                raise NotFound("There is no moderator with that handle.", field="handle")
            moderator_id = updated[0]["id"]
            await RecoveryCode.delete().where(RecoveryCode.moderator == moderator_id)
            await ModeratorSession.delete().where(ModeratorSession.moderator == moderator_id)

    async def account(self, moderator_id: str) -> Account:
        row = await Moderator.select().where(Moderator.id == moderator_id).first()
        if row is None:
            raise NotFound("There is no such moderator.")
        live = ModeratorSession.expires_at > _now()
        return Account(
            handle=row["handle"],
            role=row["role"],
            sessions=await ModeratorSession.count().where(
                ModeratorSession.moderator == moderator_id, live
            ),
            recovery_codes_left=await RecoveryCode.count().where(
                RecoveryCode.moderator == moderator_id
            ),
        )

    # -- the password step ----------------------------------------------------------------

    async def login(self, handle: str, password: str) -> str:
        """An unverified session's token for the right handle and password: the second
        factor (or its enrolment) comes next."""
        row = await (
            Moderator.select().where(Moderator.handle_key == handle.strip().casefold()).first()
        )
        stored = row["password_hash"] if row else _DUMMY_HASH
        matches = await asyncio.to_thread(_verify, stored, password[:PASSWORD_MAX])
        if not matches or row is None or row["disabled"]:
            raise Unauthorized(LOGIN_FAILED, field="password", code="login_failed")
        if HASHER.check_needs_rehash(stored):
            rehashed = await asyncio.to_thread(HASHER.hash, password)
            await Moderator.update({Moderator.password_hash: rehashed}).where(
                Moderator.id == row["id"]
            )
        return await self._new_session(row["id"], verified=False)

    async def session(self, token: str) -> Identity | None:
        """The live session ``token`` opens, of an account that is not disabled."""
        row = await (
            ModeratorSession.select(
                ModeratorSession.moderator,
                ModeratorSession.verified,
                ModeratorSession.moderator.role.as_alias("role"),
                ModeratorSession.moderator.totp_enabled.as_alias("totp_enabled"),
                ModeratorSession.moderator.disabled.as_alias("disabled"),
            )
            .where(ModeratorSession.token_hash == token_hash(token))
            .where(ModeratorSession.expires_at > _now())
            .first()
        )
        if row is None or row["disabled"]:
            return None
        return Identity(
            moderator_id=row["moderator"],
            role=row["role"],
            verified=row["verified"],
            totp_enabled=row["totp_enabled"],
            token=token,
        )

    # -- TOTP enrolment -----------------------------------------------------------------------

    async def enrolment(self, identity: Identity) -> Enrolment:
        """The secret to enrol (made once, kept until enrolment is done, so reloading the
        page shows the same QR code)."""
        row = await self._moderator(identity.moderator_id)
        if row["totp_enabled"]:
            raise Conflict("Two-factor log-in is already set up.", code="already_enrolled")
        secret = self._decrypt(row["totp_secret"])
        if secret is None:
            secret = pyotp.random_base32()
            await Moderator.update({Moderator.totp_secret: self._encrypt(secret)}).where(
                Moderator.id == identity.moderator_id
            )
        uri = pyotp.TOTP(secret).provisioning_uri(name=row["handle"], issuer_name=TOTP_ISSUER)
        return Enrolment(secret=secret, uri=uri, qr_svg=qr_svg(uri))

    async def finish_enrolment(self, identity: Identity, code: str) -> tuple[str, list[str]]:
        """Check a first code from the new authenticator; returns a verified session's
        token (replacing ``identity``'s) and the recovery codes, shown only this once."""
        row = await self._moderator(identity.moderator_id)
        if row["totp_enabled"]:
            raise Conflict("Two-factor log-in is already set up.", code="already_enrolled")
        secret = self._decrypt(row["totp_secret"])
        step = self._matching_step(secret, code) if secret else None
        if step is None:
            raise Unauthorized(
                "That code is not right. Check the time on your device and try the newest code.",
                field="code",
                code="code_wrong",
            )
        codes = [new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
        async with write_transaction():
            await Moderator.update(
                {Moderator.totp_enabled: True, Moderator.totp_last_step: step}
            ).where(Moderator.id == identity.moderator_id)
            await self._replace_recovery_codes(identity.moderator_id, codes)
            token = await self._verified_session(identity)
        return token, codes

    # -- the second factor at each log-in ----------------------------------------------------

    async def second_factor(self, identity: Identity, code: str) -> str:
        """A TOTP code (each accepted once) or a recovery code (each usable once); returns
        a verified session's token, replacing ``identity``'s."""
        row = await self._moderator(identity.moderator_id)
        if not row["totp_enabled"]:
            raise Conflict("Set up two-factor log-in first.", code="not_enrolled")
        async with write_transaction():
            accepted = await self._use_totp(row, code) or await self._use_recovery_code(
                identity.moderator_id, code
            )
            if not accepted:
                raise Unauthorized(
                    "That code is not right, or was used already.",
                    field="code",
                    code="code_wrong",
                )
            return await self._verified_session(identity)

    async def new_recovery_codes(self, identity: Identity, code: str) -> list[str]:
        """Replace the recovery codes; needs a current TOTP code."""
        row = await self._moderator(identity.moderator_id)
        codes = [new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
        async with write_transaction():
            if not await self._use_totp(row, code):
                raise Unauthorized(
                    "That code is not right, or was used already.",
                    field="code",
                    code="code_wrong",
                )
            await self._replace_recovery_codes(identity.moderator_id, codes)
        return codes

    # -- sessions ----------------------------------------------------------------------------

    async def logout(self, token: str) -> None:
        await ModeratorSession.delete().where(ModeratorSession.token_hash == token_hash(token))

    async def logout_everywhere(self, moderator_id: str) -> None:
        await ModeratorSession.delete().where(ModeratorSession.moderator == moderator_id)

    async def _new_session(self, moderator_id: str, verified: bool) -> str:
        token = secrets.token_urlsafe(32)
        lasts = timedelta(hours=SESSION_HOURS) if verified else timedelta(minutes=PENDING_MINUTES)
        await ModeratorSession.insert(
            ModeratorSession(
                token_hash=token_hash(token),
                moderator=moderator_id,
                verified=verified,
                expires_at=_now() + lasts,
            )
        )
        await ModeratorSession.delete().where(ModeratorSession.expires_at <= _now())
        return token

    async def _verified_session(self, identity: Identity) -> str:
        """A new token for a session that passed the second factor; the old one ends."""
        await self.logout(identity.token)
        return await self._new_session(identity.moderator_id, verified=True)

    # -- helpers -----------------------------------------------------------------------------

    async def _moderator(self, moderator_id: str) -> dict:
        row = await Moderator.select().where(Moderator.id == moderator_id).first()
        if row is None or row["disabled"]:
            raise Unauthorized("This moderator account is not active.", code="login_failed")
        return row

    def _matching_step(self, secret: str, code: str) -> int | None:
        """The time step whose code ``code`` is (this one, or one step either side)."""
        code = "".join(code.split())
        if not (code.isdigit() and len(code) == 6):
            return None
        totp = pyotp.TOTP(secret)
        now = self._clock()
        for offset in range(-TOTP_DRIFT_STEPS, TOTP_DRIFT_STEPS + 1):
            if hmac.compare_digest(totp.at(now, counter_offset=offset), code):
                return totp.timecode(datetime.fromtimestamp(now, UTC)) + offset
        return None

    async def _use_totp(self, row: dict, code: str) -> bool:
        """Accept a TOTP code once: the step must be later than the last one accepted."""
        secret = self._decrypt(row["totp_secret"])
        step = self._matching_step(secret, code) if secret else None
        if step is None:
            return False
        claimed = await (
            Moderator.update({Moderator.totp_last_step: step})
            .where(Moderator.id == row["id"], Moderator.totp_last_step < step)
            .returning(Moderator.id)
        )
        return bool(claimed)

    async def _use_recovery_code(self, moderator_id: str, code: str) -> bool:
        used = await (
            RecoveryCode.delete()
            .where(
                RecoveryCode.moderator == moderator_id,
                RecoveryCode.code_hash == token_hash(normalise_code(code)),
            )
            .returning(RecoveryCode.id)
        )
        return bool(used)

    async def _replace_recovery_codes(self, moderator_id: str, codes: list[str]) -> None:
        await RecoveryCode.delete().where(RecoveryCode.moderator == moderator_id)
        await RecoveryCode.insert(
            *[
                RecoveryCode(moderator=moderator_id, code_hash=token_hash(normalise_code(c)))
                for c in codes
            ]
        )

    def _encrypt(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def _decrypt(self, stored: str) -> str | None:
        if not stored:
            return None
        try:
            return self._fernet.decrypt(stored.encode()).decode()
        except InvalidToken:  # encrypted under another secret key: enrol again
            return None
