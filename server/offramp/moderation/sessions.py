"""Moderator sessions on the web: a cookie in, the moderator's identity in the request
scope, and the guards that keep everyone else out of moderator-only routes.

The cookie is separate from a persona's (another name, 8 hours instead of 30 days)
and, in production, ``__Host-``-prefixed and ``Secure``. Only requests carrying it
touch the database. Every response to a moderator is ``Cache-Control: no-store``.
"""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders
from litestar.handlers.base import BaseRouteHandler
from litestar.response import Redirect
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from offramp.anonymity.sessions import read_cookie
from offramp.config import Settings
from offramp.errors import OfframpError, Unauthorized
from offramp.moderation.accounts import SESSION_HOURS, Identity, Moderators

MODERATOR_SCOPE_KEY = "moderator"
LOGIN_PATH = "/moderation/login"


def cookie_name(settings: Settings) -> str:
    """``__Host-`` needs HTTPS; local development runs on plain HTTP."""
    return "__Host-offramp_moderator" if settings.is_production else "offramp_moderator"


def session_cookie(settings: Settings, token: str | None) -> str:
    """A Set-Cookie value that stores ``token`` (or deletes the cookie when None)."""
    parts = [f"{cookie_name(settings)}={token or ''}", "Path=/", "HttpOnly", "SameSite=Lax"]
    parts.append(f"Max-Age={SESSION_HOURS * 3600 if token else 0}")
    if settings.is_production:
        parts.append("Secure")
    return "; ".join(parts)


def identity_of(connection: ASGIConnection) -> Identity | None:
    """The moderator session this request carries, verified or not."""
    return connection.scope.get(MODERATOR_SCOPE_KEY)  # type: ignore[return-value]


class ModeratorSessionMiddleware:
    def __init__(self, app: ASGIApp, moderators: Moderators, settings: Settings) -> None:
        self.app = app
        self.moderators = moderators
        self.name = cookie_name(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = read_cookie(scope, self.name) if scope["type"] == "http" else None
        if token is None:
            await self.app(scope, receive, send)
            return
        scope[MODERATOR_SCOPE_KEY] = await self.moderators.session(token)  # type: ignore[typeddict-unknown-key]

        async def private(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableScopeHeaders.from_message(message)["cache-control"] = "no-store"
            await send(message)

        await self.app(scope, receive, private)


# -- guards ---------------------------------------------------------------------------------


class LoginRequired(OfframpError):
    """A page for moderators only, asked for by someone else: off to the log-in page."""

    status_code = 303
    code = "login_required"


def moderators_only(connection: ASGIConnection, _handler: BaseRouteHandler) -> None:
    """Guard: a verified moderator session (password and second factor), or nothing.
    The JSON API answers 401; pages send the browser to the log-in page."""
    identity = identity_of(connection)
    if identity is not None and identity.verified:
        return
    if connection.url.path.startswith("/api/"):
        raise Unauthorized(
            f"For moderators only: log in at {LOGIN_PATH} (password and second factor).",
            code="moderator_login_required",
        )
    raise LoginRequired("For moderators only.")


def to_login(_request, _exc: LoginRequired) -> Redirect:
    """The answer to :class:`LoginRequired` on a page."""
    return Redirect(path=LOGIN_PATH, status_code=303, headers={"cache-control": "no-store"})
