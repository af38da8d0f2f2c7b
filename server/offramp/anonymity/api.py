"""JSON API for personas under /api/v1/personas: the same service as the pages.

The JSON API uses no cookies: creating a persona or logging in answers with a session
token (shown once; only its SHA-256 is stored), which the client sends back in the
``X-Persona-Session`` header. With it, new threads, replies and surveys belong to the
persona, and its posts are edited or deleted without their edit keys.
"""

from __future__ import annotations

from dataclasses import asdict

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from pydantic import BaseModel, ConfigDict, Field

from offramp.anonymity.abuse import AbuseControl
from offramp.anonymity.personas import PASSPHRASE_MAX, PASSPHRASE_MIN, Personas
from offramp.errors import Unauthorized
from offramp.forum.api import PRIVATE, PersonaSessionHeader, api_author, errors, require_json


class PersonaCredentials(BaseModel):
    model_config = ConfigDict(extra="forbid")

    handle: str = Field(
        max_length=40,
        description="3 to 40 letters, digits, dots, dashes or underscores. Not an e-mail.",
    )
    passphrase: str = Field(
        max_length=PASSPHRASE_MAX,
        description=f"{PASSPHRASE_MIN} to {PASSPHRASE_MAX} characters; stored only as an "
        "argon2id hash.",
    )


class PersonaPostRead(BaseModel):
    id: str
    thread_id: str
    thread_title: str
    number: int
    status: str
    url: str


class PersonaRead(BaseModel):
    """The persona's own view: its handle and its posts (shown to nobody else)."""

    handle: str
    posts: list[PersonaPostRead]


class PersonaSession(PersonaRead):
    session: str = Field(
        description="Send it as `X-Persona-Session` to act as the persona. Shown once; "
        "valid for 30 days or until logged out."
    )


class LoggedOut(BaseModel):
    logged_out: bool


class PersonasApi(Controller):
    path = "/api/v1/personas"
    tags = ["personas"]
    before_request = require_json
    cache_control = PRIVATE

    @post(
        "",
        status_code=201,
        operation_id="createPersona",
        responses=errors(400, 409, 413, 415, 422, 429),
    )
    async def create(
        self,
        request: Request,
        personas: NamedDependency[Personas],
        guard: NamedDependency[AbuseControl],
        data: JSONBody[PersonaCredentials],
    ) -> PersonaSession:
        """Create a persona and log in: the answer holds the session token."""
        await guard.limit(request, "persona_create")
        persona_id, token = await personas.create(data.handle, data.passphrase)
        return PersonaSession(**(await _read(personas, persona_id)).model_dump(), session=token)

    @post(
        "/session",
        status_code=200,
        operation_id="loginPersona",
        responses=errors(400, 401, 413, 415, 422, 429),
    )
    async def login(
        self,
        request: Request,
        personas: NamedDependency[Personas],
        guard: NamedDependency[AbuseControl],
        data: JSONBody[PersonaCredentials],
    ) -> PersonaSession:
        """Log in (throttled per connection and per handle): a new session token."""
        await guard.limit(request, "persona_login")
        await guard.limit_subject("persona_login", f"handle|{data.handle.strip().casefold()}")
        persona_id, token = await personas.login(data.handle, data.passphrase)
        return PersonaSession(**(await _read(personas, persona_id)).model_dump(), session=token)

    @delete("/session", status_code=200, operation_id="logoutPersona", responses=errors(400, 401))
    async def logout(
        self,
        personas: NamedDependency[Personas],
        persona_session: PersonaSessionHeader = None,
    ) -> LoggedOut:
        """End the session sent in `X-Persona-Session` (the persona's others stay)."""
        await _persona(personas, persona_session)
        assert persona_session is not None
        await personas.logout(persona_session[:100])
        return LoggedOut(logged_out=True)

    @get("/me", operation_id="getPersona", responses=errors(400, 401))
    async def me(
        self,
        personas: NamedDependency[Personas],
        persona_session: PersonaSessionHeader = None,
    ) -> PersonaRead:
        """The persona's handle and posts."""
        return await _read(personas, await _persona(personas, persona_session))


async def _persona(personas: Personas, session: str | None) -> str:
    author = await api_author(personas, session)
    if author.persona_id is None:
        raise Unauthorized(
            "Send a persona's session token in X-Persona-Session.",
            field="X-Persona-Session",
            code="session_required",
        )
    return author.persona_id


async def _read(personas: Personas, persona_id: str) -> PersonaRead:
    posts = await personas.posts(persona_id)
    return PersonaRead(
        handle=await personas.handle(persona_id),
        posts=[PersonaPostRead(**asdict(post)) for post in posts],
    )
