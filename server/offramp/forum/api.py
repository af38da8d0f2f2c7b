"""JSON API of the forum under /api/v1: the same service as the pages."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, Request, delete, get, patch, post
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import (
    FromPath,
    FromQuery,
    HeaderParameter,
    JSONBody,
    QueryParameter,
)

from offramp.errors import ErrorBody
from offramp.forum import schemas
from offramp.forum.render import render_markdown
from offramp.forum.service import THREADS_PER_PAGE, Forum


def errors(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the error statuses an operation can answer."""
    words = {
        400: "Malformed request (e.g. a bad cursor or unreadable JSON).",
        401: "The edit key is missing.",
        403: "The edit key is wrong.",
        404: "No such resource.",
        409: "The resource's state forbids this (deleted post, locked thread).",
        413: "The request body is too large.",
        415: "The body must be JSON (Content-Type: application/json).",
        422: "A field is invalid; `field` names it.",
    }
    return {
        status: ResponseSpec(data_container=ErrorBody, description=words[status])
        for status in statuses
    }


EditKey = Annotated[
    str | None,
    HeaderParameter(
        name="Authorization",
        description="`Bearer <edit_key>`: the key returned when the post was created.",
        required=False,
    ),
]

BODY_METHODS = {"POST", "PUT", "PATCH"}
# Answers that carry an edit key, or follow a keyed request, are never stored.
PRIVATE = CacheControlHeader(no_store=True)


def require_json(request: Request) -> None:
    """The API takes JSON only: a cross-site HTML form cannot send it."""
    if request.method in BODY_METHODS:
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/json":
            raise HTTPException(
                status_code=415,
                detail="Send the body as JSON with Content-Type: application/json.",
            )


class ForumApi(Controller):
    path = "/api/v1"
    tags = ["forum"]
    before_request = require_json

    @get("/categories", responses=errors(400))
    async def categories(self, forum: NamedDependency[Forum]) -> list[schemas.CategoryRead]:
        """The five fixed categories."""
        return await forum.categories()

    @get("/entities", responses=errors(400))
    async def entities(
        self,
        forum: NamedDependency[Forum],
        kind: FromQuery[Literal["employer", "program", "certification"] | None] = None,
    ) -> list[schemas.EntityRead]:
        """Employers, programs and certifications that threads can be about."""
        return await forum.entities(kind)

    @get("/entities/{slug:str}", responses=errors(400, 404))
    async def entity(
        self, forum: NamedDependency[Forum], slug: FromPath[str]
    ) -> schemas.EntityRead:
        return await forum.entity(slug)

    @get("/threads", responses=errors(400, 404))
    async def threads(
        self,
        forum: NamedDependency[Forum],
        category: FromQuery[str | None] = None,
        entity: Annotated[str | None, QueryParameter(description="Entity slug.")] = None,
        cursor: Annotated[
            str | None,
            QueryParameter(description="`next` from the previous page.", max_length=200),
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = THREADS_PER_PAGE,
    ) -> schemas.ThreadList:
        """Threads by latest activity, newest first, one page at a time."""
        if category is not None:
            await forum.category(category)
        entity_id = await forum.entity_id(entity) if entity is not None else None
        return await forum.threads(category=category, entity=entity_id, cursor=cursor, limit=limit)

    @post(
        "/threads",
        status_code=201,
        cache_control=PRIVATE,
        responses=errors(400, 404, 413, 415, 422),
    )
    async def create_thread(
        self, forum: NamedDependency[Forum], data: JSONBody[schemas.ThreadCreate]
    ) -> schemas.ThreadCreated:
        """Start a thread. The answer holds the edit key: it is shown only this once."""
        return await forum.create_thread(data)

    @get("/threads/{thread_id:str}", responses=errors(400, 404))
    async def thread(
        self,
        forum: NamedDependency[Forum],
        thread_id: FromPath[str],
        page: Annotated[int, QueryParameter(ge=1, le=100_000)] = 1,
    ) -> schemas.ThreadPage:
        """A thread with one page of its posts."""
        return await forum.thread_page(thread_id, page)

    @post(
        "/threads/{thread_id:str}/posts",
        status_code=201,
        cache_control=PRIVATE,
        responses=errors(400, 403, 404, 409, 413, 415, 422),
    )
    async def reply(
        self,
        forum: NamedDependency[Forum],
        thread_id: FromPath[str],
        data: JSONBody[schemas.ReplyCreate],
    ) -> schemas.PostCreated:
        """Reply to a thread. The answer holds the reply's edit key, shown only once."""
        return await forum.create_reply(thread_id, data)

    @get("/posts/{post_id:str}", responses=errors(400, 404))
    async def get_post(
        self, forum: NamedDependency[Forum], post_id: FromPath[str]
    ) -> schemas.PostRead:
        return await forum.post(post_id)

    @patch(
        "/posts/{post_id:str}",
        cache_control=PRIVATE,
        responses=errors(400, 401, 403, 404, 409, 413, 415, 422),
    )
    async def edit_post(
        self,
        forum: NamedDependency[Forum],
        post_id: FromPath[str],
        data: JSONBody[schemas.PostUpdate],
        authorization: EditKey = None,
    ) -> schemas.PostRead:
        """Edit a post with its key; the post keeps its history and shows as edited."""
        return await forum.edit_post(post_id, authorization, data)

    @delete(
        "/posts/{post_id:str}",
        status_code=200,
        cache_control=PRIVATE,
        responses=errors(400, 401, 403, 404),
    )
    async def delete_post(
        self,
        forum: NamedDependency[Forum],
        post_id: FromPath[str],
        authorization: EditKey = None,
    ) -> schemas.PostRead:
        """Delete a post with its key: its text and history are erased, its place stays."""
        return await forum.delete_post(post_id, authorization)

    @post(
        "/preview",
        status_code=200,
        cache_control=PRIVATE,
        responses=errors(400, 413, 415, 422),
    )
    async def preview(self, data: JSONBody[schemas.Preview]) -> schemas.PreviewRead:
        """Render Markdown exactly as a post would be. Stores and logs nothing."""
        return schemas.PreviewRead(html=render_markdown(data.body))
