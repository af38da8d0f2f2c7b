"""HTML pages of the forum. Plain forms, no JavaScript needed; the service does the work.

Every form that writes offers "Preview" and "Publish" buttons in one form, so a
poster without JavaScript sees exactly what will be published first.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect
from pydantic import ValidationError

from offramp.errors import OfframpError
from offramp.forum import schemas
from offramp.forum.render import render_markdown
from offramp.forum.service import Forum
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
    errors: dict[str, str] = {}
    for error in exc.errors():
        field = str(error["loc"][0]) if error.get("loc") else "form"
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
    async def home(self, forum: NamedDependency[Forum]) -> Any:
        return page(
            "forum/home.html",
            latest=await forum.threads(limit=20),
            active=await forum.active_threads(),
            categories=await forum.categories(),
        )

    @get("/c/{slug:str}", cache=CACHED, name="category")
    async def category(
        self,
        forum: NamedDependency[Forum],
        slug: FromPath[str],
        after: FromQuery[str | None] = None,
    ) -> Any:
        category = await forum.category(slug)
        return page(
            "forum/category.html",
            category=category,
            listing=await forum.threads(category=slug, cursor=after),
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
        )

    @post("/new", name="create_thread")
    async def create_thread(self, request: Request, forum: NamedDependency[Forum]) -> Any:
        form = await read_form(request)
        values = {
            "title": _text(form, "title"),
            "category": _text(form, "category"),
            "entity": _optional(form, "entity"),
            "body": _text(form, "body"),
        }
        errors: dict[str, str] = {}
        preview = None
        try:
            data = schemas.ThreadCreate(**values)
            if form.get("action") == "publish":
                created = await forum.create_thread(data)
                return _key_page(created.edit_key, created.post, created.thread.title)
            preview = render_markdown(data.body)
        except ValidationError as exc:
            errors = form_errors(exc)
        except OfframpError as exc:
            errors = {exc.field or "form": exc.message}
        return page(
            "forum/new_thread.html",
            status_code=422 if errors else 200,
            personal=True,
            categories=await forum.categories(),
            entities=await forum.entities(),
            values=values,
            errors=errors,
            preview=preview,
        )

    @get("/threads/{thread_id:str}/reply", name="reply_form")
    async def reply_form(self, forum: NamedDependency[Forum], thread_id: FromPath[str]) -> Any:
        thread = await forum.thread(thread_id)
        return page("forum/reply.html", thread=thread, values={}, errors={}, preview=None)

    @post("/threads/{thread_id:str}/reply", name="create_reply")
    async def create_reply(
        self, request: Request, forum: NamedDependency[Forum], thread_id: FromPath[str]
    ) -> Any:
        thread = await forum.thread(thread_id)
        form = await read_form(request)
        values = {
            "body": _text(form, "body"),
            "author_key": _optional(form, "author_key"),
        }
        errors: dict[str, str] = {}
        preview = None
        try:
            data = schemas.ReplyCreate(**values)
            if form.get("action") == "publish":
                created = await forum.create_reply(thread_id, data)
                return _key_page(created.edit_key, created.post, thread.title)
            preview = render_markdown(data.body)
        except ValidationError as exc:
            errors = form_errors(exc)
        except OfframpError as exc:
            if exc.status_code == 404:
                raise
            errors = {exc.field or "form": exc.message}
        return page(
            "forum/reply.html",
            status_code=422 if errors else 200,
            personal=True,
            thread=thread,
            values=values,
            errors=errors,
            preview=preview,
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
    async def manage(self, forum: NamedDependency[Forum], post_id: FromPath[str]) -> Any:
        post = await forum.post(post_id)
        return page("forum/manage.html", post=post, errors={})

    @post("/posts/{post_id:str}/edit", name="edit_post")
    async def edit(
        self, request: Request, forum: NamedDependency[Forum], post_id: FromPath[str]
    ) -> Any:
        form = await read_form(request)
        key = _text(form, "edit_key")
        try:
            post = await forum.check_key(post_id, key)
        except OfframpError as exc:
            if exc.status_code == 404:
                raise
            post = await forum.post(post_id)
            return page(
                "forum/manage.html",
                status_code=exc.status_code,
                personal=True,
                post=post,
                errors={"edit_key": exc.message},
            )
        if "body" not in form:  # arriving from the key form: show the text to edit
            source = await forum.post_source(post_id, key)
            return page(
                "forum/edit.html",
                personal=True,
                post=post,
                key=key,
                values=source,
                errors={},
                preview=None,
            )
        values = {"body": _text(form, "body"), "title": _optional(form, "title")}
        errors: dict[str, str] = {}
        preview = None
        try:
            data = schemas.PostUpdate(**values)
            if form.get("action") == "publish":
                saved = await forum.edit_post(post_id, key, data)
                return Redirect(path=saved.url, status_code=303)
            preview = render_markdown(data.body)
        except ValidationError as exc:
            errors = form_errors(exc)
        except OfframpError as exc:
            if exc.status_code == 404:
                raise
            errors = {exc.field or "form": exc.message}
        return page(
            "forum/edit.html",
            status_code=422 if errors else 200,
            personal=True,
            post=post,
            key=key,
            values=values,
            errors=errors,
            preview=preview,
        )

    @post("/posts/{post_id:str}/delete", name="delete_post")
    async def delete(
        self, request: Request, forum: NamedDependency[Forum], post_id: FromPath[str]
    ) -> Any:
        form = await read_form(request)
        key = _text(form, "edit_key")
        try:
            post = await forum.check_key(post_id, key)
        except OfframpError as exc:
            if exc.status_code == 404:
                raise
            post = await forum.post(post_id)
            return page(
                "forum/manage.html",
                status_code=exc.status_code,
                personal=True,
                post=post,
                errors={"edit_key": exc.message},
            )
        if form.get("confirm") != "yes":
            return page("forum/delete.html", personal=True, post=post, key=key)
        deleted = await forum.delete_post(post_id, key)
        return Redirect(path=deleted.url, status_code=303)

    @get("/entities", cache=CACHED, name="entities")
    async def entities(
        self, forum: NamedDependency[Forum], kind: FromQuery[str | None] = None
    ) -> Any:
        if kind not in (None, "employer", "program", "certification"):
            kind = None
        return page("forum/entities.html", entities=await forum.entities(kind), kind=kind)

    @get("/entities/{slug:str}", cache=CACHED, name="entity")
    async def entity(
        self,
        forum: NamedDependency[Forum],
        slug: FromPath[str],
        after: FromQuery[str | None] = None,
    ) -> Any:
        entity = await forum.entity(slug)
        listing = await forum.threads(entity=await forum.entity_id(slug), cursor=after)
        return page(
            "forum/entity.html",
            entity=entity,
            listing=listing,
            first_page=after is None,
        )

    @get("/about", cache=CACHED, name="about")
    async def about(self) -> Any:
        return page("about.html")


def _key_page(edit_key: str, post: schemas.PostRead, title: str) -> Any:
    return page(
        "forum/edit_key.html",
        status_code=201,
        personal=True,
        edit_key=edit_key,
        post=post,
        title=title,
    )
