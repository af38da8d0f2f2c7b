"""HTML pages for personas: create, log in and out, the persona's own page."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect

from offramp.anonymity.abuse import AbuseControl, RateLimited
from offramp.anonymity.personas import PASSPHRASE_MIN, Personas
from offramp.anonymity.sessions import PERSONA_SCOPE_KEY, session_cookie
from offramp.config import Settings
from offramp.errors import Invalid, OfframpError
from offramp.forum.pages import read_form
from offramp.web import page


def _persona(request: Request) -> str | None:
    return request.scope.get(PERSONA_SCOPE_KEY)  # type: ignore[return-value]


def _text(form, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _logged_in(response: Any, settings: Settings, token: str | None) -> Any:
    response.headers["set-cookie"] = session_cookie(settings, token)
    response.headers["cache-control"] = "no-store"
    return response


class PersonaPages(Controller):
    path = "/personas"
    include_in_schema = False

    @get("/", name="personas")
    async def start(self, request: Request) -> Any:
        if _persona(request):
            return Redirect(path="/personas/me", status_code=303)
        return page("anonymity/personas.html", errors={}, values={}, passphrase_min=PASSPHRASE_MIN)

    @post("/new", name="create_persona")
    async def create(
        self,
        request: Request,
        personas: NamedDependency[Personas],
        guard: NamedDependency[AbuseControl],
        settings: NamedDependency[Settings],
    ) -> Any:
        form = await read_form(request)
        handle = _text(form, "handle")
        try:
            await guard.limit(request, "persona_create")
            if _text(form, "passphrase") != _text(form, "passphrase_again"):
                raise Invalid("The two passphrases differ.", field="passphrase_again")
            _, token = await personas.create(handle, _text(form, "passphrase"))
        except OfframpError as exc:
            return _form_error(exc, {"handle": handle}, which="create")
        return _logged_in(Redirect(path="/personas/me", status_code=303), settings, token)

    @post("/login", name="persona_login")
    async def login(
        self,
        request: Request,
        personas: NamedDependency[Personas],
        guard: NamedDependency[AbuseControl],
        settings: NamedDependency[Settings],
    ) -> Any:
        form = await read_form(request)
        handle = _text(form, "login_handle")
        try:
            await guard.limit(request, "persona_login")
            # Per handle as well as per connection: a guessing run is slowed wherever it
            # comes from. The limiter only ever sees an HMAC of the handle.
            await guard.limit_subject("persona_login", f"handle|{handle.strip().casefold()}")
            _, token = await personas.login(handle, _text(form, "login_passphrase"))
        except OfframpError as exc:
            field = "login_passphrase" if exc.field == "passphrase" else exc.field
            error = OfframpError(exc.message, field=field)
            error.status_code = exc.status_code
            return _form_error(error, {"login_handle": handle}, which="login")
        return _logged_in(Redirect(path="/personas/me", status_code=303), settings, token)

    @post("/logout", name="persona_logout")
    async def logout(
        self,
        request: Request,
        personas: NamedDependency[Personas],
        settings: NamedDependency[Settings],
    ) -> Any:
        token = request.scope.get("persona_token")  # type: ignore[typeddict-item]
        if token:
            await personas.logout(str(token))
        return _logged_in(Redirect(path="/personas", status_code=303), settings, None)

    @get("/me", name="persona_home")
    async def me(self, request: Request, personas: NamedDependency[Personas]) -> Any:
        persona_id = _persona(request)
        if not persona_id:
            return Redirect(path="/personas", status_code=303)
        return page(
            "anonymity/persona.html",
            personal=True,
            handle=await personas.handle(persona_id),
            posts=await personas.posts(persona_id),
            errors={},
            done=request.query_params.get("done"),
            passphrase_min=PASSPHRASE_MIN,
        )

    @post("/me/passphrase", name="persona_passphrase")
    async def change_passphrase(
        self,
        request: Request,
        personas: NamedDependency[Personas],
        guard: NamedDependency[AbuseControl],
    ) -> Any:
        persona_id = _persona(request)
        if not persona_id:
            return Redirect(path="/personas", status_code=303)
        form = await read_form(request)
        try:
            await guard.limit(request, "persona_login")
            if _text(form, "new_passphrase") != _text(form, "new_passphrase_again"):
                raise Invalid("The two new passphrases differ.", field="new_passphrase")
            await personas.change_passphrase(
                persona_id, _text(form, "passphrase"), _text(form, "new_passphrase")
            )
        except OfframpError as exc:
            return await self._me_with_error(request, personas, persona_id, exc)
        return Redirect(path="/personas/me?done=passphrase", status_code=303)

    @post("/me/delete", name="persona_delete")
    async def delete(
        self,
        request: Request,
        personas: NamedDependency[Personas],
        guard: NamedDependency[AbuseControl],
        settings: NamedDependency[Settings],
    ) -> Any:
        persona_id = _persona(request)
        if not persona_id:
            return Redirect(path="/personas", status_code=303)
        form = await read_form(request)
        try:
            await guard.limit(request, "persona_login")
            await personas.delete(persona_id, _text(form, "delete_passphrase"))
        except OfframpError as exc:
            field = "delete_passphrase" if exc.field == "passphrase" else exc.field
            error = OfframpError(exc.message, field=field)
            error.status_code = exc.status_code
            return await self._me_with_error(request, personas, persona_id, error)
        done = page("anonymity/deleted.html", personal=True)
        return _logged_in(done, settings, None)

    async def _me_with_error(self, request, personas, persona_id, exc: OfframpError) -> Any:
        return page(
            "anonymity/persona.html",
            status_code=_status(exc),
            personal=True,
            handle=await personas.handle(persona_id),
            posts=await personas.posts(persona_id),
            errors={exc.field or "form": exc.message},
            done=None,
            passphrase_min=PASSPHRASE_MIN,
        )


def _status(exc: OfframpError) -> int:
    if isinstance(exc, RateLimited):
        return 429
    return exc.status_code if exc.status_code >= 400 else 422


def _form_error(exc: OfframpError, values: dict, which: str) -> Any:
    return page(
        "anonymity/personas.html",
        status_code=_status(exc),
        personal=True,
        errors={exc.field or f"{which}_form": exc.message},
        values=values,
        passphrase_min=PASSPHRASE_MIN,
    )
