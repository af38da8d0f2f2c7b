"""HTML pages of the forum. Plain forms, no JavaScript needed; the service does the work.

Every form that writes offers "Preview" and "Publish" buttons in one form, so a
poster without JavaScript sees exactly what will be published first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect
from pydantic import ValidationError

from offramp.anonymity.abuse import POW_FIELD, AbuseControl, FormVerdict, RateLimited
from offramp.anonymity.detector import Finding, find_identifying_details
from offramp.anonymity.editkeys import new_edit_key
from offramp.config import Settings
from offramp.errors import BadRequest, NotFound, OfframpError
from offramp.forum import schemas
from offramp.forum.api import attachments
from offramp.forum.entities import EntityPlan, UnknownEntity
from offramp.forum.render import render_markdown
from offramp.forum.service import ROLE_TAGS, Author, Forum, NeedsConfirmation, Publishing
from offramp.ids import new_id, this_hour
from offramp.search.directory import SORTS, directory
from offramp.stats.pages import Published, formatter
from offramp.stats.service import Statistics
from offramp.surveys.forms import OPTIONS, interview_from_form, survey_from_form
from offramp.surveys.schemas import LABELS, RoleCategory
from offramp.surveys.service import Surveys
from offramp.web import page

CACHED = True  # anonymous pages: served from the page cache, which writes invalidate


def describe(error: dict) -> str:
    """One pydantic error in plain words."""
    kind, ctx = error.get("type", ""), error.get("ctx", {})
    if kind == "string_too_short":
        return f"must be at least {ctx.get('min_length')} characters"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind == "missing":
        return "is required"
    return str(error.get("msg", "is not valid")).removeprefix("Value error, ")


def form_errors(exc: ValidationError) -> dict[str, str]:
    """Errors by field; nested fields are dotted (``survey.programs.0.cost_usd``), as
    the form names them."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ()) if not str(part).startswith("function")]
        field = ".".join(loc) if loc else "form"
        errors.setdefault(field, describe(error))
    return errors


async def read_form(request: Request) -> FormMultiDict:
    return await request.form()


def _text(form: FormMultiDict, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _optional(form: FormMultiDict, name: str) -> str | None:
    value = _text(form, name).strip()
    return value or None


class ForumPages(Controller):
    include_in_schema = False

    @get("/", cache=CACHED, name="home")
    async def home(
        self,
        forum: NamedDependency[Forum],
        after: FromQuery[str | None] = None,
        sort: FromQuery[schemas.ThreadSort] = "activity",
        role: FromQuery[RoleCategory | None] = None,
    ) -> Any:
        order = ListOrder(sort, role)
        return page(
            "forum/home.html",
            latest=await order.threads(forum, after, limit=20),
            order=order,
            first_page=after is None,
            active=await forum.active_threads(),
            categories=await forum.categories(),
        )

    @get("/c/{slug:str}", cache=CACHED, name="category")
    async def category(
        self,
        forum: NamedDependency[Forum],
        slug: FromPath[str],
        after: FromQuery[str | None] = None,
        sort: FromQuery[schemas.ThreadSort] = "activity",
        role: FromQuery[RoleCategory | None] = None,
    ) -> Any:
        category = await forum.category(slug)
        order = ListOrder(sort, role)
        return page(
            "forum/category.html",
            category=category,
            listing=await order.threads(forum, after, category=slug),
            order=order,
            first_page=after is None,
        )

    @get("/threads/{thread_id:str}", cache=CACHED, name="thread")
    async def thread(
        self,
        forum: NamedDependency[Forum],
        thread_id: FromPath[str],
        page_number: Annotated[int, QueryParameter(name="page", ge=1, le=100_000)] = 1,
    ) -> Any:
        return page("forum/thread.html", view=await forum.thread_page(thread_id, page_number))

    @get("/new", name="new_thread")
    async def new_thread(
        self, forum: NamedDependency[Forum], category: FromQuery[str | None] = None
    ) -> Any:
        return page(
            "forum/new_thread.html",
            categories=await forum.categories(),
            entities=await forum.entities(),
            values={"category": category or ""},
            errors={},
            preview=None,
            findings=[],
            survey_options=OPTIONS,
        )

    @post("/new", name="create_thread")
    async def create_thread(
        self,
        request: Request,
        forum: NamedDependency[Forum],
        guard: NamedDependency[AbuseControl],
        surveys: NamedDependency[Surveys],
    ) -> Any:
        form = await read_form(request)
        values = {
            "title": _text(form, "title"),
            "category": _text(form, "category"),
            "entity": _optional(form, "entity"),
            "entity_kind": _optional(form, "entity_kind"),
            "body": _text(form, "body"),
            "survey": survey_from_form(form),
            "interview": interview_from_form(form),
            "role_tags": role_tags_from_form(form),
            **_publishing_values(form),
        }

        async def publish(data: schemas.ThreadCreate) -> Any:
            await guard.limit(request, "thread", await _proof(guard, form))
            author = author_of(request)
            plan = EntityPlan(allow_new=data.new_entities)
            attach = await attachments(
                request, guard, surveys, data, data.category, author.persona_id, plan
            )
            created = await forum.create_thread(data, author, _publishing(data), attach, plan)
            return _key_page(created.edit_key, created.post, created.thread.title)

        composed = await _compose(guard, form, schemas.ThreadCreate, values, publish)
        if not isinstance(composed, Composed):
            return composed
        composed.errors = _one_error_for(composed.errors, "role_tags")
        return page(
            "forum/new_thread.html",
            status_code=composed.status_code,
            personal=True,
            categories=await forum.categories(),
            entities=await forum.entities(),
            values=values,
            errors=composed.errors,
            preview=composed.preview,
            findings=composed.findings,
            marked=composed.marked,
            unknown_entity=composed.unknown_entity,
            survey_options=OPTIONS,
        )

    @get("/threads/{thread_id:str}/reply", name="reply_form")
    async def reply_form(self, forum: NamedDependency[Forum], thread_id: FromPath[str]) -> Any:
        thread = await forum.thread(thread_id)
        return page(
            "forum/reply.html",
            thread=thread,
            values={},
            errors={},
            preview=None,
            findings=[],
            survey_options=OPTIONS,
            entities=await forum.entities(),
        )

    @post("/threads/{thread_id:str}/reply", name="create_reply")
    async def create_reply(
        self,
        request: Request,
        forum: NamedDependency[Forum],
        guard: NamedDependency[AbuseControl],
        surveys: NamedDependency[Surveys],
        thread_id: FromPath[str],
    ) -> Any:
        thread = await forum.thread(thread_id)
        form = await read_form(request)
        values = {
            "body": _text(form, "body"),
            "author_key": _optional(form, "author_key"),
            "survey": survey_from_form(form),
            "interview": interview_from_form(form),
            **_publishing_values(form),
        }

        async def publish(data: schemas.ReplyCreate) -> Any:
            await guard.limit(request, "reply", await _proof(guard, form))
            if data.author_key:
                await guard.limit(request, "edit_key")
            author = author_of(request)
            plan = EntityPlan(allow_new=data.new_entities)
            attach = await attachments(
                request, guard, surveys, data, thread.category, author.persona_id, plan
            )
            created = await forum.create_reply(
                thread_id, data, author, _publishing(data), attach, plan
            )
            return _key_page(created.edit_key, created.post, thread.title)

        composed = await _compose(guard, form, schemas.ReplyCreate, values, publish)
        if not isinstance(composed, Composed):
            return composed
        return page(
            "forum/reply.html",
            status_code=composed.status_code,
            personal=True,
            thread=thread,
            values=values,
            errors=composed.errors,
            preview=composed.preview,
            findings=composed.findings,
            marked=composed.marked,
            unknown_entity=composed.unknown_entity,
            survey_options=OPTIONS,
            entities=await forum.entities(),
        )

    @post("/edit-key.txt", name="key_file")
    async def key_file(self, request: Request) -> Response:
        """The edit key as a small text file, sent back from the key page's form."""
        form = await read_form(request)
        key = _text(form, "edit_key").strip()[:128]
        where = _text(form, "post_url").strip()[:200]
        if not key:
            return Response("No key was sent.", status_code=400, media_type="text/plain")
        text = (
            "Offramp edit key\n\n"
            f"Post: {where}\nKey:  {key}\n\n"
            "Anyone with this key can edit or delete the post. It cannot be recovered.\n"
        )
        return Response(
            text,
            media_type="text/plain; charset=utf-8",
            headers={
                "Content-Disposition": 'attachment; filename="offramp-edit-key.txt"',
                "Cache-Control": "no-store",
            },
        )

    @get("/posts/{post_id:str}/manage", name="manage_post")
    async def manage(
        self, request: Request, forum: NamedDependency[Forum], post_id: FromPath[str]
    ) -> Any:
        owned = await forum.owns(post_id, author_of(request).persona_id)
        return page(
            "forum/manage.html", post=await forum.post_stub(post_id), errors={}, owned=owned
        )

    @post("/posts/{post_id:str}/edit", name="edit_post")
    async def edit(
        self,
        request: Request,
        forum: NamedDependency[Forum],
        guard: NamedDependency[AbuseControl],
        post_id: FromPath[str],
    ) -> Any:
        form = await read_form(request)
        key = _text(form, "edit_key")
        author = author_of(request, key)
        await guard.limit(request, "edit_key")
        try:
            post = await forum.own_post(post_id, author)
        except OfframpError as exc:
            if exc.status_code == 404:
                raise
            return _manage_with_error(await forum.post_stub(post_id), exc)
        if "body" not in form:  # arriving from the key form: show the text to edit
            return page(
                "forum/edit.html",
                personal=True,
                post=post,
                key=key,
                values=await forum.post_source(post_id, author),
                errors={},
                preview=None,
                findings=[],
            )
        values = {
            "body": _text(form, "body"),
            "title": _optional(form, "title"),
            "confirm_identifying_details": form.get("confirm_identifying_details") == "yes",
        }

        async def publish(data: schemas.PostUpdate) -> Any:
            saved = await forum.edit_post(post_id, author, data)
            if saved.status in ("held", "scheduled"):
                return page(
                    "forum/edit.html",
                    personal=True,
                    post=saved,
                    key=key,
                    values=values,
                    errors={},
                    preview=None,
                    findings=[],
                    saved=True,
                )
            return Redirect(path=saved.url, status_code=303)

        composed = await _compose(
            guard, form, schemas.PostUpdate, values, publish, check_form=False
        )
        if not isinstance(composed, Composed):
            return composed
        return page(
            "forum/edit.html",
            status_code=composed.status_code,
            personal=True,
            post=post,
            key=key,
            values=values,
            errors=composed.errors,
            preview=composed.preview,
            findings=composed.findings,
            marked=composed.marked,
        )

    @post("/posts/{post_id:str}/delete", name="delete_post")
    async def delete(
        self,
        request: Request,
        forum: NamedDependency[Forum],
        guard: NamedDependency[AbuseControl],
        post_id: FromPath[str],
    ) -> Any:
        form = await read_form(request)
        key = _text(form, "edit_key")
        author = author_of(request, key)
        await guard.limit(request, "edit_key")
        try:
            post = await forum.own_post(post_id, author)
        except OfframpError as exc:
            if exc.status_code == 404:
                raise
            return _manage_with_error(await forum.post_stub(post_id), exc)
        if form.get("confirm") != "yes":
            return page("forum/delete.html", personal=True, post=post, key=key)
        deleted = await forum.delete_post(post_id, author)
        if deleted.status == "deleted" and post.status == "published":
            return Redirect(path=deleted.url, status_code=303)
        return page("forum/deleted.html", personal=True, post=deleted)

    @get("/entities", cache=CACHED, name="entities")
    async def entities(
        self,
        forum: NamedDependency[Forum],
        statistics: NamedDependency[Statistics],
        settings: NamedDependency[Settings],
        kind: FromQuery[str | None] = None,
        letter: FromQuery[str | None] = None,
        sort: FromQuery[str | None] = None,
    ) -> Any:
        if kind not in (None, "employer", "program", "certification"):
            kind = None
        listing = directory(await forum.entities(kind), letter, sort)
        return page(
            "forum/entities.html",
            directory=listing,
            sorts=SORTS,
            kind=kind,
            figures=Published(await statistics.directory_counts()),
            fmt=formatter(settings.stats_min_cell),
        )

    @get("/entities/{slug:str}", cache=CACHED, name="entity")
    async def entity(
        self,
        forum: NamedDependency[Forum],
        statistics: NamedDependency[Statistics],
        settings: NamedDependency[Settings],
        slug: FromPath[str],
        after: FromQuery[str | None] = None,
        sort: FromQuery[schemas.ThreadSort] = "activity",
        role: FromQuery[RoleCategory | None] = None,
    ) -> Any:
        try:
            entity = await forum.entity(slug)
        except NotFound:
            if moved := await forum.current_slug(slug):
                return Redirect(path=f"/entities/{moved}", status_code=301)
            raise
        entity_id = await forum.entity_id(slug)
        order = ListOrder(sort, role)
        listing = await order.threads(forum, after, entity=entity_id)
        kind = "employer" if entity.kind == "employer" else "program"
        return page(
            "forum/entity.html",
            entity=entity,
            listing=listing,
            order=order,
            first_page=after is None,
            scope_kind=kind,
            figures=Published(await statistics.figures(kind, slug)),
            latest=await statistics.latest(),
            held_out=await statistics.held_out(entity_id),
            fmt=formatter(settings.stats_min_cell),
        )

    @get("/about", cache=CACHED, name="about")
    async def about(self) -> Any:
        return page("about.html")


@dataclass(frozen=True)
class ListOrder:
    """How a page's thread list is ordered (and filtered): kept in every link of it."""

    sort: str = "activity"
    role: str | None = None
    sorts: dict[str, str] = field(default_factory=lambda: schemas.THREAD_SORTS)
    roles: tuple[str, ...] = ROLE_TAGS
    labels: dict[str, str] = field(default_factory=lambda: LABELS)

    @property
    def params(self) -> dict[str, str]:
        """Query parameters that differ from the defaults, for links."""
        params = {"sort": self.sort} if self.sort != "activity" else {}
        return params | ({"role": self.role} if self.role else {})

    async def threads(self, forum: Forum, after: str | None, **scope: Any) -> schemas.ThreadList:
        try:
            return await forum.threads(cursor=after, sort=self.sort, role=self.role, **scope)
        except BadRequest as exc:
            if exc.field != "cursor":
                raise
            raise BadRequest(f"after: {exc.message}", field="after") from None


@dataclass
class Composed:
    """What a form page shows again: errors, a preview, and identifying details found
    in the text (with the text cut into pieces so the findings can be marked)."""

    errors: dict[str, str]
    preview: str | None = None
    findings: list[Finding] = field(default_factory=list)
    marked: list[tuple[str, bool]] = field(default_factory=list)
    unknown_entity: bool = False  # a name not in the directory: offer to add it

    @property
    def status_code(self) -> int:
        if self.errors.get("form", "").startswith("Too many"):
            return 429
        return 422 if self.errors else 200


async def _compose(guard, form, model, values, publish, check_form=True) -> Any:
    """The shared steps of every posting form: the bot checks, validation, the preview
    with identifying-detail warnings, and — when asked to — publishing."""
    if check_form:
        verdict = guard.check_form(form)
        if verdict is FormVerdict.BOT:
            return _decoy_key_page()
        if verdict is FormVerdict.EXPIRED:
            return Composed(
                {
                    "form": "This form was open for too long or came from an old page. "
                    "Check your text and submit it again."
                }
            )
    try:
        data = model(**values)
    except ValidationError as exc:
        return Composed(form_errors(exc))
    title = values.get("title") or ""
    findings = find_identifying_details(title) + find_identifying_details(data.body)
    marked = highlight(data.body, find_identifying_details(data.body)) if findings else []
    preview = render_markdown(data.body)
    if form.get("action") != "publish":
        return Composed({}, preview, findings, marked)
    try:
        return await publish(data)
    except RateLimited as exc:
        return Composed({"form": exc.message}, preview, findings, marked)
    except NeedsConfirmation as exc:
        return Composed({"confirm_identifying_details": exc.message}, preview, findings, marked)
    except OfframpError as exc:
        if exc.status_code == 404:
            raise
        unknown = isinstance(exc, UnknownEntity)
        return Composed({exc.field or "form": exc.message}, preview, findings, marked, unknown)


def highlight(text: str, findings: list) -> list[tuple[str, bool]]:
    """The text cut into (piece, is_finding) so a template can mark findings safely."""
    pieces: list[tuple[str, bool]] = []
    position = 0
    for finding in findings:
        pieces.append((text[position : finding.start], False))
        pieces.append((text[finding.start : finding.end], True))
        position = finding.end
    pieces.append((text[position:], False))
    return [piece for piece in pieces if piece[0]]


def role_tags_from_form(form: FormMultiDict) -> list[str]:
    """The checked role tags, each once (the model refuses unknown ones, and too many)."""
    return [tag for tag in dict.fromkeys(form.getall("role_tags", [])) if isinstance(tag, str)]


def _one_error_for(errors: dict[str, str], group: str) -> dict[str, str]:
    """Errors of a group of checkboxes (``role_tags.1``) as one error of the group."""
    grouped: dict[str, str] = {}
    for name, message in errors.items():
        key = group if name.startswith(f"{group}.") else name
        grouped.setdefault(key, message)
    return grouped


def _publishing_values(form: FormMultiDict) -> dict[str, bool]:
    return {
        "confirm_identifying_details": form.get("confirm_identifying_details") == "yes",
        "delay_publication": form.get("delay_publication") == "yes",
        "new_entities": form.get("new_entities") == "yes",
    }


def _publishing(data) -> Publishing:
    return Publishing(
        confirmed_findings=data.confirm_identifying_details, delay=data.delay_publication
    )


async def _proof(guard: AbuseControl, form: FormMultiDict) -> bool:
    return await guard.proof_of_work(_text(form, POW_FIELD) or None)


def author_of(request: Request, key: str | None = None) -> Author:
    """Who is writing: the edit key sent with the form and/or the persona logged in."""
    persona = request.scope.get("persona_id")  # type: ignore[typeddict-item]
    return Author(key=key, persona_id=persona)


def _manage_with_error(post: schemas.PostRead, exc: OfframpError) -> Any:
    return page(
        "forum/manage.html",
        status_code=exc.status_code,
        personal=True,
        post=post,
        errors={"edit_key": exc.message},
    )


def _decoy_key_page() -> Any:
    """What a bot sees: a page like success. Nothing was stored."""
    decoy = schemas.PostRead(
        id=new_id(),
        thread_id=new_id(),
        number=1,
        author="OP",
        status="published",
        body_html="",
        edited=False,
        created=this_hour().date(),
        url=f"/threads/{new_id()}#p1",
    )
    return _key_page(new_edit_key()[0], decoy, "Your thread")


def _key_page(edit_key: str, post: schemas.PostRead, title: str) -> Any:
    return page(
        "forum/edit_key.html",
        status_code=201,
        personal=True,
        edit_key=edit_key,
        post=post,
        title=title,
    )
