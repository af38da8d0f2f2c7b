"""HTML pages of moderation. Plain forms, no JavaScript needed; the services do the work.

- ``ReportPages``: anyone reports a post or requests a takedown; a post's author
  answers a takedown request with the edit key or persona.
- ``LoginPages``: the moderator log-in (password, then TOTP or its enrolment).
- ``ModeratorPages``: the queue, a post's review and the actions — moderators only,
  everyone else is sent to the log-in page.
- ``LogPages``: the public moderation log, as HTML, JSON and Atom.

Every moderator page is ``Cache-Control: no-store``.
"""

from __future__ import annotations

from typing import Annotated, Any
from xml.etree import ElementTree

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect
from markupsafe import Markup
from pydantic import ValidationError

from offramp.anonymity.abuse import AbuseControl, FormVerdict
from offramp.config import Settings
from offramp.errors import OfframpError
from offramp.forum.api import errors
from offramp.forum.pages import author_of, form_errors, read_form
from offramp.forum.service import Forum
from offramp.moderation import schemas
from offramp.moderation.accounts import PASSWORD_MAX, Identity, Moderators
from offramp.moderation.api import actor_of
from offramp.moderation.entities import EntityDesk
from offramp.moderation.service import Moderation
from offramp.moderation.sessions import (
    LOGIN_PATH,
    LoginRequired,
    identity_of,
    moderators_only,
    session_cookie,
    to_login,
)
from offramp.web import page

NO_STORE = CacheControlHeader(no_store=True)
QUEUE_PATH = "/moderation/queue"
SECOND_FACTOR_PATH = "/moderation/login/code"
ENROL_PATH = "/moderation/enrol"
Before = Annotated[
    int | None,
    QueryParameter(ge=1, le=2**31 - 1, description="Entries older than this id."),
]


def _text(form, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _status(exc: OfframpError) -> int:
    return exc.status_code if exc.status_code >= 400 else 422


def _with_session(response: Any, settings: Settings, token: str | None) -> Any:
    """Set (or, with None, delete) the moderator session cookie on ``response``."""
    response.headers["set-cookie"] = session_cookie(settings, token)
    response.headers["cache-control"] = "no-store"
    return response


def _see_other(path: str) -> Redirect:
    return Redirect(path=path, status_code=303)


# -- reports, takedown requests and the author's answer (anyone) -------------------------------


class ReportPages(Controller):
    path = "/posts/{post_id:str}"
    include_in_schema = False

    @get("/report", name="report_form")
    async def report_form(self, forum: NamedDependency[Forum], post_id: FromPath[str]) -> Any:
        return page(
            "moderation/report.html",
            post=await forum.post(post_id),
            reasons=schemas.REPORT_REASONS,
            values={},
            errors={},
        )

    @post("/report", name="report_post")
    async def report(
        self,
        request: Request,
        forum: NamedDependency[Forum],
        moderation: NamedDependency[Moderation],
        guard: NamedDependency[AbuseControl],
        post_id: FromPath[str],
    ) -> Any:
        form = await read_form(request)
        values = {"reason": _text(form, "reason"), "note": _text(form, "note")}
        try:
            if _form_checks(guard, form) is FormVerdict.HUMAN:
                await guard.limit(request, "report")
                await moderation.report(post_id, _validated(schemas.ReportCreate, values))
        except OfframpError as exc:
            return page(
                "moderation/report.html",
                status_code=_status(exc),
                personal=True,
                post=await forum.post(post_id),
                reasons=schemas.REPORT_REASONS,
                values=values,
                errors=_errors(exc),
            )
        return page("moderation/reported.html", personal=True, post=await forum.post(post_id))

    @get("/takedown", name="takedown_form")
    async def takedown_form(self, forum: NamedDependency[Forum], post_id: FromPath[str]) -> Any:
        return page(
            "moderation/takedown.html", post=await forum.post(post_id), values={}, errors={}
        )

    @post("/takedown", name="request_takedown")
    async def takedown(
        self,
        request: Request,
        forum: NamedDependency[Forum],
        moderation: NamedDependency[Moderation],
        guard: NamedDependency[AbuseControl],
        post_id: FromPath[str],
    ) -> Any:
        form = await read_form(request)
        values = {"organisation": _text(form, "organisation"), "claim": _text(form, "claim")}
        try:
            if _form_checks(guard, form) is FormVerdict.HUMAN:
                await guard.limit(request, "report")
                data = _validated(schemas.TakedownCreate, values)
                await moderation.request_takedown(post_id, data)
        except OfframpError as exc:
            return page(
                "moderation/takedown.html",
                status_code=_status(exc),
                personal=True,
                post=await forum.post(post_id),
                values=values,
                errors=_errors(exc),
            )
        return page(
            "moderation/takedown_received.html", personal=True, post=await forum.post(post_id)
        )

    @get("/takedown/answer", name="takedown_answer_form")
    async def answer_form(
        self, request: Request, forum: NamedDependency[Forum], post_id: FromPath[str]
    ) -> Any:
        owned = await forum.owns(post_id, author_of(request).persona_id)
        return page(
            "moderation/answer.html",
            post=await forum.post(post_id),
            owned=owned,
            key="",
            takedown=None,
            values={},
            errors={},
        )

    @post("/takedown/answer", name="takedown_answer")
    async def answer(
        self,
        request: Request,
        forum: NamedDependency[Forum],
        moderation: NamedDependency[Moderation],
        guard: NamedDependency[AbuseControl],
        post_id: FromPath[str],
    ) -> Any:
        """First the key (or persona) opens the request; then the answer is saved."""
        form = await read_form(request)
        key = _text(form, "edit_key")
        author = author_of(request, key)
        context = {"post": await forum.post(post_id), "owned": False, "key": key}
        try:
            await guard.limit(request, "edit_key")
            takedown = await moderation.takedown_for_author(post_id, author)
        except OfframpError as exc:
            return page(
                "moderation/answer.html",
                status_code=_status(exc),
                personal=True,
                takedown=None,
                values={},
                errors={exc.field or "form": exc.message},
                **context,
            )
        if "response" not in form:
            return page(
                "moderation/answer.html",
                personal=True,
                takedown=takedown,
                values={},
                errors={},
                **context,
            )
        values = {"response": _text(form, "response")}
        try:
            data = _validated(schemas.TakedownAnswer, values)
            takedown = await moderation.answer_takedown(post_id, author, data)
        except OfframpError as exc:
            return page(
                "moderation/answer.html",
                status_code=_status(exc),
                personal=True,
                takedown=takedown,
                values=values,
                errors=_errors(exc),
                **context,
            )
        return page(
            "moderation/answer.html",
            personal=True,
            takedown=takedown,
            values=values,
            errors={},
            saved=True,
            **context,
        )


# -- logging in --------------------------------------------------------------------------------


class LoginPages(Controller):
    path = "/moderation"
    include_in_schema = False
    cache_control = NO_STORE

    @get("/login", name="moderator_login_form")
    async def login_form(self, request: Request) -> Any:
        identity = identity_of(request)
        if identity is not None:
            return _see_other(_next_step(identity))
        return page("moderation/login.html", personal=True, values={}, errors={})

    @post("/login", name="moderator_login")
    async def login(
        self,
        request: Request,
        moderators: NamedDependency[Moderators],
        guard: NamedDependency[AbuseControl],
        settings: NamedDependency[Settings],
    ) -> Any:
        form = await read_form(request)
        handle = _text(form, "handle")
        try:
            await _limit_login(request, guard, handle)
            token = await moderators.login(handle, _text(form, "password")[: PASSWORD_MAX + 1])
        except OfframpError as exc:
            return page(
                "moderation/login.html",
                status_code=_status(exc),
                personal=True,
                values={"handle": handle},
                errors={exc.field or "form": exc.message},
            )
        identity = await moderators.session(token)
        assert identity is not None
        return _with_session(_see_other(_next_step(identity)), settings, token)

    @get("/login/code", name="moderator_code_form")
    async def code_form(self, request: Request) -> Any:
        identity = identity_of(request)
        if identity is None or identity.verified or not identity.totp_enabled:
            return _see_other(_next_step(identity))
        return page("moderation/code.html", personal=True, errors={})

    @post("/login/code", name="moderator_code")
    async def code(
        self,
        request: Request,
        moderators: NamedDependency[Moderators],
        guard: NamedDependency[AbuseControl],
        settings: NamedDependency[Settings],
    ) -> Any:
        identity = identity_of(request)
        if identity is None or identity.verified or not identity.totp_enabled:
            return _see_other(_next_step(identity))
        form = await read_form(request)
        try:
            await _limit_login(request, guard, f"id:{identity.moderator_id}")
            token = await moderators.second_factor(identity, _text(form, "code")[:64])
        except OfframpError as exc:
            return page(
                "moderation/code.html",
                status_code=_status(exc),
                personal=True,
                errors={exc.field or "form": exc.message},
            )
        return _with_session(_see_other(QUEUE_PATH), settings, token)

    @get("/enrol", name="moderator_enrol_form")
    async def enrol_form(self, request: Request, moderators: NamedDependency[Moderators]) -> Any:
        identity = identity_of(request)
        if identity is None or identity.totp_enabled:
            return _see_other(_next_step(identity))
        return await _enrol_page(moderators, identity, {})

    @post("/enrol", name="moderator_enrol")
    async def enrol(
        self,
        request: Request,
        moderators: NamedDependency[Moderators],
        guard: NamedDependency[AbuseControl],
        settings: NamedDependency[Settings],
    ) -> Any:
        identity = identity_of(request)
        if identity is None or identity.totp_enabled:
            return _see_other(_next_step(identity))
        form = await read_form(request)
        try:
            await _limit_login(request, guard, f"id:{identity.moderator_id}")
            token, codes = await moderators.finish_enrolment(identity, _text(form, "code")[:64])
        except OfframpError as exc:
            return await _enrol_page(moderators, identity, {exc.field or "form": exc.message})
        done = page("moderation/recovery_codes.html", personal=True, codes=codes, enrolled=True)
        return _with_session(done, settings, token)

    @post("/logout", name="moderator_logout")
    async def logout(
        self,
        request: Request,
        moderators: NamedDependency[Moderators],
        settings: NamedDependency[Settings],
    ) -> Any:
        identity = identity_of(request)
        if identity is not None:
            await moderators.logout(identity.token)
        return _with_session(_see_other(LOGIN_PATH), settings, None)


# -- the moderators' own pages -----------------------------------------------------------------


class ModeratorPages(Controller):
    path = "/moderation"
    include_in_schema = False
    guards = [moderators_only]
    exception_handlers = {LoginRequired: to_login}
    cache_control = NO_STORE

    @get("/queue", name="moderation_queue")
    async def queue(self, moderation: NamedDependency[Moderation]) -> Any:
        return page("moderation/queue.html", personal=True, items=await moderation.queue())

    @get("/posts/{post_id:str}", name="moderation_review")
    async def review(
        self,
        moderation: NamedDependency[Moderation],
        post_id: FromPath[str],
        done: Annotated[str | None, QueryParameter(max_length=30)] = None,
    ) -> Any:
        return await _review_page(moderation, post_id, {}, done=done)

    @post("/posts/{post_id:str}/actions", name="moderate_post")
    async def act_on_post(
        self, request: Request, moderation: NamedDependency[Moderation], post_id: FromPath[str]
    ) -> Any:
        form = await read_form(request)
        values = {
            "action": _text(form, "action"),
            "reason": _text(form, "reason"),
            "revision": _text(form, "revision") or None,
        }
        try:
            data = _validated(schemas.PostActionCreate, values)
            entry = await moderation.act_on_post(actor_of(request), post_id, data)
        except OfframpError as exc:
            errors = _action_errors(values["action"], exc)
            return await _review_page(moderation, post_id, errors, _status(exc), values)
        return _see_other(f"/moderation/posts/{post_id}?done={entry.action}")

    @post("/threads/{thread_id:str}/actions", name="moderate_thread")
    async def act_on_thread(
        self,
        request: Request,
        moderation: NamedDependency[Moderation],
        thread_id: FromPath[str],
    ) -> Any:
        form = await read_form(request)
        back = _text(form, "post_id")
        values = {"action": _text(form, "action"), "reason": _text(form, "reason")}
        try:
            data = _validated(schemas.ThreadActionCreate, values)
            entry = await moderation.act_on_thread(actor_of(request), thread_id, data)
        except OfframpError as exc:
            if not back:
                raise
            errors = _action_errors(values["action"], exc)
            return await _review_page(moderation, back, errors, _status(exc), values)
        if back:
            return _see_other(f"/moderation/posts/{back}?done={entry.action}")
        return _see_other("/moderation/log")

    @get("/entities/{slug:str}", name="moderation_entity")
    async def entity(
        self,
        forum: NamedDependency[Forum],
        entity_desk: NamedDependency[EntityDesk],
        slug: FromPath[str],
        done: Annotated[str | None, QueryParameter(max_length=30)] = None,
    ) -> Any:
        return await _entity_page(forum, entity_desk, slug, {}, done=done)

    @post("/entities/{slug:str}/actions", name="moderate_entity")
    async def act_on_entity(
        self,
        request: Request,
        forum: NamedDependency[Forum],
        moderation: NamedDependency[Moderation],
        entity_desk: NamedDependency[EntityDesk],
        slug: FromPath[str],
    ) -> Any:
        form = await read_form(request)
        action = _text(form, "action")
        values: dict = {"action": action, "reason": _text(form, "reason")}
        if action == "merge":
            values["into"] = _text(form, "into")
        if action == "edit":
            values |= {
                "name": _text(form, "name"),
                "kind": _text(form, "kind") or None,
                "website": _text(form, "website").strip(),
                "description": _text(form, "description"),
                "aliases": [line for line in _text(form, "aliases").splitlines() if line.strip()],
            }
        try:
            data = _validated(schemas.EntityActionCreate, values)
            entry = await moderation.entry(await entity_desk.act(actor_of(request), slug, data))
        except OfframpError as exc:
            if exc.status_code == 404 and exc.field == "slug":
                raise
            field = (exc.field or "form").split(".")[0]
            errors = {f"{action}-{field}" if field != "form" else "form": exc.message}
            return await _entity_page(forum, entity_desk, slug, errors, _status(exc), values)
        if entry.url and entry.url.startswith("/entities/"):
            return _see_other(f"/moderation{entry.url}?done={entry.action}")
        return _see_other("/moderation/queue")

    @get("/account", name="moderator_account")
    async def account(self, request: Request, moderators: NamedDependency[Moderators]) -> Any:
        return await _account_page(request, moderators, {})

    @post("/account/logout-everywhere", name="moderator_logout_everywhere")
    async def logout_everywhere(
        self,
        request: Request,
        moderators: NamedDependency[Moderators],
        settings: NamedDependency[Settings],
    ) -> Any:
        await moderators.logout_everywhere(actor_of(request).moderator_id)
        return _with_session(_see_other(LOGIN_PATH), settings, None)

    @post("/account/recovery-codes", name="moderator_recovery_codes")
    async def recovery_codes(
        self,
        request: Request,
        moderators: NamedDependency[Moderators],
        guard: NamedDependency[AbuseControl],
    ) -> Any:
        identity = identity_of(request)
        assert identity is not None
        form = await read_form(request)
        try:
            await _limit_login(request, guard, f"id:{identity.moderator_id}")
            codes = await moderators.new_recovery_codes(identity, _text(form, "code")[:64])
        except OfframpError as exc:
            return await _account_page(
                request, moderators, {exc.field or "form": exc.message}, _status(exc)
            )
        return page("moderation/recovery_codes.html", personal=True, codes=codes, enrolled=False)


# -- the public log ----------------------------------------------------------------------------


class LogPages(Controller):
    path = "/moderation"
    include_in_schema = False

    @get("/log", name="moderation_log", cache=True)
    async def log(self, moderation: NamedDependency[Moderation], before: Before = None) -> Any:
        return page("moderation/log.html", log=await moderation.log(before), first=before is None)

    @get(
        "/log.json",
        name="moderation_log_json",
        cache=True,
        include_in_schema=True,
        tags=["moderation"],
        operation_id="moderationLog",
        responses=errors(400, 422),
    )
    async def log_json(
        self, moderation: NamedDependency[Moderation], before: Before = None
    ) -> schemas.LogPage:
        """The public moderation log, newest first: every action with its day, its public
        reason and what it concerned; moderators are named by role only."""
        return await moderation.log(before)

    @get("/log.atom", name="moderation_log_atom", cache=True)
    async def log_atom(self, request: Request, moderation: NamedDependency[Moderation]) -> Response:
        log = await moderation.log()
        return Response(
            atom_feed(str(request.base_url).rstrip("/"), log.entries),
            media_type="application/atom+xml; charset=utf-8",
        )


def atom_feed(base: str, entries: list[schemas.LogEntryRead]) -> bytes:
    """The newest log entries as an Atom feed (RFC 4287); times are days, as on the page."""
    atom = "http://www.w3.org/2005/Atom"
    ElementTree.register_namespace("", atom)

    def add(parent, tag: str, text: str | None = None, **attributes) -> ElementTree.Element:
        element = ElementTree.SubElement(parent, f"{{{atom}}}{tag}", attributes)
        element.text = text
        return element

    feed = ElementTree.Element(f"{{{atom}}}feed")
    add(feed, "title", "Offramp moderation log")
    add(feed, "id", f"{base}/moderation/log")
    add(feed, "link", rel="alternate", type="text/html", href=f"{base}/moderation/log")
    add(feed, "link", rel="self", href=f"{base}/moderation/log.atom")
    newest = entries[0].day.isoformat() if entries else "2026-01-01"
    add(feed, "updated", f"{newest}T00:00:00Z")
    add(add(feed, "author"), "name", "Offramp moderators")
    for entry in entries:
        item = add(feed, "entry")
        add(item, "title", f"{entry.label}: {entry.target}")
        add(item, "id", f"{base}/moderation/log#e{entry.id}")
        add(item, "updated", f"{entry.day.isoformat()}T00:00:00Z")
        where = entry.url or f"/moderation/log#e{entry.id}"
        add(item, "link", rel="alternate", href=base + where)
        detail = f" {entry.detail}" if entry.detail else ""
        add(item, "summary", f"{entry.reason}{detail} (by a {entry.role})")
    return ElementTree.tostring(feed, encoding="utf-8", xml_declaration=True)


# -- helpers -----------------------------------------------------------------------------------


def _next_step(identity: Identity | None) -> str:
    """Where a (half-)logged-in moderator goes next."""
    if identity is None:
        return LOGIN_PATH
    if identity.verified:
        return QUEUE_PATH
    return SECOND_FACTOR_PATH if identity.totp_enabled else ENROL_PATH


async def _limit_login(request: Request, guard: AbuseControl, account: str) -> None:
    """Log-in attempts are limited per connection and per account, wherever they come
    from. The limiter only ever sees an HMAC of the account's handle."""
    await guard.limit(request, "moderator_login")
    await guard.limit_subject("moderator_login", f"moderator|{account.strip().casefold()}")


def _form_checks(guard: AbuseControl, form) -> FormVerdict:
    """The honeypot and the signed form time stamp: a bot is told it worked."""
    verdict = guard.check_form(form)
    if verdict is FormVerdict.EXPIRED:
        raise OfframpError(
            "This form was open for too long or came from an old page. Check it and submit "
            "it again.",
            field="form",
        )
    return verdict


def _validated(model, values: dict):
    try:
        return model(**values)
    except ValidationError as exc:
        field, message = next(iter(form_errors(exc).items()))
        error = OfframpError(message, field=field)
        error.status_code = 422
        raise error from None


def _errors(exc: OfframpError) -> dict[str, str]:
    return {exc.field or "form": exc.message}


def _action_errors(action: str, exc: OfframpError) -> dict[str, str]:
    """An action's error, named after the field of that action's form (``hide-reason``)."""
    known = action in schemas.ACTION_LABELS or action in ("uphold", "reject")
    if not known or not exc.field or exc.field == "form":
        return {"form": exc.message}
    return {f"{action}-{exc.field}": exc.message}


async def _enrol_page(moderators: Moderators, identity: Identity, errors: dict) -> Any:
    enrolment = await moderators.enrolment(identity)
    return page(
        "moderation/enrol.html",
        status_code=401 if errors else 200,
        personal=True,
        secret=enrolment.secret,
        # segno's SVG: made by the library from our own otpauth URI, no text from others.
        qr_svg=Markup(enrolment.qr_svg),
        errors=errors,
    )


async def _review_page(
    moderation: Moderation,
    post_id: str,
    errors: dict,
    status_code: int = 200,
    values: dict | None = None,
    done: str | None = None,
) -> Any:
    return page(
        "moderation/review.html",
        status_code=status_code,
        personal=True,
        review=await moderation.review(post_id),
        reasons=schemas.REPORT_REASONS,
        labels=schemas.ACTION_LABELS,
        errors=errors,
        values=values or {},
        done=done if done in schemas.ACTION_LABELS else None,
    )


async def _entity_page(
    forum: Forum,
    entity_desk: EntityDesk,
    slug: str,
    errors: dict,
    status_code: int = 200,
    values: dict | None = None,
    done: str | None = None,
) -> Any:
    entity = await entity_desk.review(slug)
    others = [other for other in await forum.entities(entity.kind) if other.slug != slug]
    return page(
        "moderation/entity.html",
        status_code=status_code,
        personal=True,
        entity=entity,
        others=others,
        labels=schemas.ACTION_LABELS,
        errors=errors,
        values=values or {},
        done=done if done in schemas.ACTION_LABELS else None,
    )


async def _account_page(
    request: Request, moderators: Moderators, errors: dict, status_code: int = 200
) -> Any:
    identity = identity_of(request)
    assert identity is not None
    return page(
        "moderation/account.html",
        status_code=status_code,
        personal=True,
        account=await moderators.account(identity.moderator_id),
        errors=errors,
    )
