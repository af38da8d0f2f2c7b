"""Persona sessions on the web: a cookie in, the persona id in the request scope.

Only requests that carry the session cookie touch the database; everyone else
passes straight through (and stays cacheable). Responses to a logged-in persona
are marked ``Cache-Control: no-store``.
"""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie

from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from offramp.anonymity.personas import SESSION_DAYS, Personas
from offramp.config import Settings

PERSONA_SCOPE_KEY = "persona_id"


def cookie_name(settings: Settings) -> str:
    """``__Host-`` needs HTTPS; local development runs on plain HTTP."""
    return "__Host-offramp_session" if settings.is_production else "offramp_session"


def session_cookie(settings: Settings, token: str | None) -> str:
    """A Set-Cookie value that stores ``token`` (or deletes the cookie when None)."""
    parts = [f"{cookie_name(settings)}={token or ''}", "Path=/", "HttpOnly", "SameSite=Lax"]
    parts.append(f"Max-Age={SESSION_DAYS * 86400 if token else 0}")
    if settings.is_production:
        parts.append("Secure")
    return "; ".join(parts)


def read_cookie(scope: Scope, name: str) -> str | None:
    for header, value in scope.get("headers", []):
        if header == b"cookie":
            try:
                jar = SimpleCookie(value.decode("latin-1"))
            except CookieError:
                return None
            if name in jar and jar[name].value:
                return jar[name].value[:100]
    return None


class PersonaSessionMiddleware:
    def __init__(self, app: ASGIApp, personas: Personas, settings: Settings) -> None:
        self.app = app
        self.personas = personas
        self.name = cookie_name(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = read_cookie(scope, self.name) if scope["type"] == "http" else None
        if token is None:
            await self.app(scope, receive, send)
            return
        persona_id = await self.personas.session_persona(token)
        scope[PERSONA_SCOPE_KEY] = persona_id  # type: ignore[typeddict-unknown-key]
        scope["persona_token"] = token  # type: ignore[typeddict-unknown-key]

        async def private(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableScopeHeaders.from_message(message)["cache-control"] = "no-store"
            await send(message)

        await self.app(scope, receive, private)
