"""JSON API for personas under /api/v1/personas: the same service as the pages.

A persona's session is the same cookie the pages use (HttpOnly, SameSite=Lax,
``__Host-`` and Secure in production); an API client keeps it like a browser does.
While it is sent, new threads, replies and surveys created through the API belong to
the persona, and its posts can be edited or deleted without their edit keys. The
API takes JSON bodies only, which a form on another site cannot send.
"""

from __future__ import annotations

from dataclasses import asdict

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from pydantic import BaseModel, ConfigDict, Field

from offramp.anonymity.abuse import AbuseControl
from offramp.anonymity.personas import PASSPHRASE_MAX, PASSPHRASE_MIN, Personas
from offramp.anonymity.sessions import PERSONA_SCOPE_KEY, session_cookie
from offramp.config import Settings
from offramp.errors import Unauthorized
from offramp.forum.api import PRIVATE, errors, require_json


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


class LoggedOut(BaseModel):
    logged_out: bool


class PersonasApi(Controller):
    path = "/api/v1/personas"
    tags = ["personas"]
    before_request = require_json
    cache_control = PRIVATE

    @post(
        "", status_code=201, operation_id="createPersona", responses=errors(400, 409, 415, 422, 429)
    )
    async def create(
        self,
        request: Request,
        personas: NamedDependency[Personas],
        guard: NamedDependency[AbuseControl],
        settings: NamedDependency[Settings],
        data: JSONBody[PersonaCredentials],
    ) -> Response[PersonaRead]:
        """Create a persona and log in: the answer sets the session cookie."""
        await guard.limit(request, "persona_create")
        persona_id, token = await personas.create(data.handle, data.passphrase)
        return _with_session(await _read(personas, persona_id), settings, token, 201)

    @post(
        "/session",
        status_code=200,
        operation_id="loginPersona",
        responses=errors(400, 401, 415, 422, 429),
    )
    async def login(
        self,
        request: Request,
        personas: NamedDependency[Personas],
        guard: NamedDependency[AbuseControl],
        settings: NamedDependency[Settings],
        data: JSONBody[PersonaCredentials],
    ) -> Response[PersonaRead]:
        """Log in; throttled per connection and per handle. Sets the session cookie."""
        await guard.limit(request, "persona_login")
        await guard.limit_subject("persona_login", f"handle|{data.handle.strip().casefold()}")
        persona_id, token = await personas.login(data.handle, data.passphrase)
        return _with_session(await _read(personas, persona_id), settings, token, 200)

    @delete("/session", status_code=200, operation_id="logoutPersona", responses=errors(400))
    async def logout(
        self,
        request: Request,
        personas: NamedDependency[Personas],
        settings: NamedDependency[Settings],
    ) -> Response[LoggedOut]:
        """End this session (the cookie is cleared; the persona's other sessions stay)."""
        token = request.scope.get("persona_token")  # type: ignore[typeddict-item]
        if token:
            await personas.logout(str(token))
        response = Response(LoggedOut(logged_out=True), status_code=200)
        response.headers["set-cookie"] = session_cookie(settings, None)
        return response

    @get("/me", operation_id="getPersona", responses=errors(400, 401))
    async def me(self, request: Request, personas: NamedDependency[Personas]) -> PersonaRead:
        """The logged-in persona's handle and posts."""
        persona_id = request.scope.get(PERSONA_SCOPE_KEY)  # type: ignore[typeddict-item]
        if not persona_id:
            raise Unauthorized("Log in as a persona first.", code="login_required")
        return await _read(personas, str(persona_id))


async def _read(personas: Personas, persona_id: str) -> PersonaRead:
    posts = await personas.posts(persona_id)
    return PersonaRead(
        handle=await personas.handle(persona_id),
        posts=[PersonaPostRead(**asdict(post)) for post in posts],
    )


def _with_session(
    body: PersonaRead, settings: Settings, token: str, status_code: int
) -> Response[PersonaRead]:
    response = Response(body, status_code=status_code)
    response.headers["set-cookie"] = session_cookie(settings, token)
    return response
