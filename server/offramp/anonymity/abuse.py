"""Abuse control without tracking (SPEC §3.9): rate limits, form tokens and a
honeypot, and proof-of-work for JavaScript clients.

Write handlers open with these named checks. Nothing here stores or logs a
client address: the limiter sees only ``HMAC(daily salt, address)``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum

import altcha
from litestar import Request

from offramp.anonymity.ratelimit import (
    Decision,
    RateLimiter,
    client_address,
    is_within,
    parse_networks,
)
from offramp.anonymity.stores import Store
from offramp.errors import OfframpError

HONEYPOT_FIELD = "website"
FORM_TOKEN_FIELD = "form_token"
POW_HEADER = "X-Proof-Of-Work"
POW_FIELD = "proof_of_work"
FORM_TOKEN_MAX_AGE_S = 24 * 3600
POW_TTL_S = 20 * 60
# Set by the onion server of deploy/nginx/onion.conf; believed only from a trusted proxy.
ONION_HEADER = "x-offramp-onion"

# The proof-of-work this request presented and had accepted (its spent id), for the
# onion-aware limits. Each request runs in its own task, so this never outlives it.
_accepted_proof: ContextVar[str | None] = ContextVar("offramp_accepted_proof", default=None)


class RateLimited(OfframpError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, action: str, retry_after_s: int, rule: str):
        minutes = max(1, round(retry_after_s / 60))
        super().__init__(
            f"Too many {ACTION_WORDS.get(action, action)} from your connection ({rule}). "
            f"Try again in {minutes} minute{'s' if minutes != 1 else ''}.",
            field=None,
        )
        self.retry_after_s = retry_after_s


ACTION_WORDS = {
    "thread": "new threads",
    "reply": "replies",
    "edit_key": "edit-key attempts",
    "survey": "survey submissions",
    "report": "reports",
    "search": "searches",
    "preview": "previews",
    "persona_create": "new personas",
    "persona_login": "persona log-in attempts",
    "moderator_login": "moderator log-in attempts",
}


class FormVerdict(Enum):
    HUMAN = "human"
    BOT = "bot"  # honeypot filled, impossibly fast, or a forged token: pretend success
    EXPIRED = "expired"  # a stale or missing token: ask the person to submit again


@dataclass
class AbuseControl:
    secret: bytes
    limiter: RateLimiter
    store: Store
    trusted_proxies: str = ""
    form_min_seconds: float = 3.0
    proof_of_work_enabled: bool = True
    pow_max_number: int = 50_000
    onion: bool = False
    onion_ceiling: int = 20
    clock: object = time.time

    def __post_init__(self) -> None:
        self._trusted = parse_networks(self.trusted_proxies)

    # -- who is asking (as an address that is never stored) ---------------------

    def address(self, request: Request) -> str:
        peer = request.client.host if request.client else None
        return client_address(peer, request.headers.get("x-forwarded-for"), self._trusted)

    # -- rate limits ----------------------------------------------------------------

    async def limit(self, request: Request, action: str, proof_of_work: bool = False) -> None:
        """Count this request against ``action``'s limit; raise 429 past it."""
        proof = _accepted_proof.get()
        _accepted_proof.set(None)
        if self.from_onion(request):
            await self._limit_onion(request, action, proof_of_work, proof)
            return
        decision = await self.limiter.hit(action, self.address(request), proof_of_work)
        _refuse_past_limit(action, decision)

    async def limit_subject(self, action: str, subject: str) -> None:
        """A limit on something other than the connection (e.g. one persona's handle)."""
        _refuse_past_limit(action, await self.limiter.hit(action, subject, proof_of_work=True))

    # -- onion-aware limits (docs/operations.md, "Behind Tor") ---------------------------

    def from_onion(self, request: Request) -> bool:
        """Onion-aware mode is on and a trusted proxy's onion server marked the request."""
        if not self.onion or request.headers.get(ONION_HEADER) != "1":
            return False
        peer = request.client.host if request.client else ""
        return is_within(peer, self._trusted)

    async def _limit_onion(
        self, request: Request, action: str, proof_of_work: bool, proof: str | None
    ) -> None:
        """Behind Tor every client has the same address. Count the request against
        what the client proved — the proof-of-work it spent here, else the signed token
        of the form it submits — and, when it proved nothing, against the one shared
        bucket of the address. Then, once allowed, against the address's ceiling:
        ``onion_ceiling`` times the limit, for all onion clients together."""
        address = self.address(request)
        subject = f"pow|{proof}" if proof else await self._form_token_subject(request)
        _refuse_past_limit(
            action, await self.limiter.hit(action, subject or address, proof_of_work)
        )
        ceiling = await self.limiter.hit(
            action, f"ceiling|{address}", proof_of_work=True, scale=self.onion_ceiling
        )
        _refuse_past_limit(action, ceiling)

    async def _form_token_subject(self, request: Request) -> str | None:
        """``form|TOKEN`` for a form carrying a token we signed; None otherwise (an
        invented token must not open a bucket of its own)."""
        if request.content_type[0] not in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            return None
        token = str((await request.form()).get(FORM_TOKEN_FIELD) or "")
        return f"form|{token}" if self._signed_form_token(token) else None

    # -- forms: a signed time stamp and a honeypot -------------------------------------

    def form_token(self) -> str:
        """``ISSUED.NONCE.SIGNATURE``: when the form was served, and a random nonce so
        each form rendered gets its own token (the onion-aware limits count per token)."""
        body = f"{int(self.clock())}.{secrets.token_hex(8)}"
        return f"{body}.{self._sign('form', body)}"

    def _signed_form_token(self, token: str) -> bool:
        body, _, signature = token.rpartition(".")
        return bool(body) and hmac.compare_digest(signature, self._sign("form", body))

    def check_form(self, form) -> FormVerdict:
        if str(form.get(HONEYPOT_FIELD) or "").strip():
            return FormVerdict.BOT
        token = str(form.get(FORM_TOKEN_FIELD) or "")
        issued = token.partition(".")[0]
        if not issued.isdigit():
            return FormVerdict.EXPIRED
        if not self._signed_form_token(token):
            return FormVerdict.BOT
        age = self.clock() - int(issued)
        if age < self.form_min_seconds:
            return FormVerdict.BOT
        if age > FORM_TOKEN_MAX_AGE_S:
            return FormVerdict.EXPIRED
        return FormVerdict.HUMAN

    # -- proof-of-work (ALTCHA challenges, solved by JavaScript clients) ---------------

    def challenge(self) -> dict:
        expires = datetime.now(UTC) + timedelta(seconds=POW_TTL_S)
        made = altcha.create_challenge_v1(
            algorithm="SHA-256",
            max_number=self.pow_max_number,
            hmac_key=self._pow_key(),
            expires=expires,
        )
        return made.to_dict()

    async def proof_of_work(self, solution: str | None) -> bool:
        """True for a valid, unexpired solution never used before (each is accepted once)."""
        if not self.proof_of_work_enabled:
            return True
        if not solution or len(solution) > 2000:
            return False
        ok, _error = altcha.verify_solution_v1(solution, self._pow_key(), check_expires=True)
        if not ok:
            return False
        try:
            payload = json.loads(base64.b64decode(solution))
        except ValueError:
            return False
        spent = hashlib.sha256(str(payload.get("signature", "")).encode()).hexdigest()
        accepted = await self.store.set_if_absent(f"pow:{spent}", "1", POW_TTL_S)
        if accepted:
            _accepted_proof.set(spent)
        return accepted

    # -- helpers ------------------------------------------------------------------------

    def _sign(self, purpose: str, value: str) -> str:
        return hmac.new(self.secret, f"{purpose}|{value}".encode(), hashlib.sha256).hexdigest()[:32]

    def _pow_key(self) -> str:
        return hmac.new(self.secret, b"proof-of-work", hashlib.sha256).hexdigest()


def _refuse_past_limit(action: str, decision: Decision) -> None:
    if not decision.allowed:
        assert decision.limit is not None
        raise RateLimited(action, decision.retry_after_s, decision.limit.describe())
