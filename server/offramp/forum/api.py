"""JSON API of the forum under /api/v1: the same service as the pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from litestar import Controller, Request, delete, get, patch, post
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Link, Operation
from litestar.params import (
    FromQuery,
    HeaderParameter,
    JSONBody,
    PathParameter,
    QueryParameter,
)

from offramp.anonymity.abuse import POW_HEADER, AbuseControl
from offramp.anonymity.detector import find_identifying_details
from offramp.anonymity.personas import Personas
from offramp.errors import ErrorBody, Invalid, Unauthorized
from offramp.forum import schemas
from offramp.forum.entities import EntityPlan
from offramp.forum.render import render_markdown
from offramp.forum.service import THREADS_PER_PAGE, Attachment, Author, Forum, Publishing
from offramp.surveys.schemas import RoleCategory
from offramp.surveys.service import Surveys


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
        422: "A field is invalid; `field` names it. Code `identifying_details`: the text "
        "seems to identify its author; see POST /api/v1/preview, then confirm or edit.",
        429: "Too many requests of this kind from your connection; see Retry-After.",
    }
    return {
        status: ResponseSpec(
            data_container=ErrorBody, description=words[status], generate_examples=False
        )
        for status in statuses
    }


# -- OpenAPI links: where an answer leads, e.g. from a new post to editing it with its key.
# Litestar's decorators take no links, so an Operation subclass adds them.

NEW_KEY = "Bearer {$response.body#/edit_key}"
SAME_KEY = "$request.header.Authorization"


def post_links(post_id: str, key: str) -> dict[str, Link]:
    """Links to reading the post ``post_id`` and, with its edit ``key``, to editing and
    deleting it (both arguments are OpenAPI runtime expressions)."""
    post = {"post_id": post_id}
    keyed = {**post, "header.Authorization": key}
    return {
        "ReadPost": Link(operation_id="getPost", parameters=post),
        "EditPost": Link(operation_id="editPost", parameters=keyed),
        "DeletePost": Link(operation_id="deletePost", parameters=keyed),
    }


def linked(status: int, links: dict[str, Link]) -> type[Operation]:
    """An OpenAPI operation whose ``status`` answer carries ``links``."""

    @dataclass
    class LinkedOperation(Operation):
        def __post_init__(self) -> None:
            assert self.responses is not None
            self.responses[str(status)].links = links

    return LinkedOperation


NEW_THREAD = {"thread_id": "$response.body#/thread/id"}
THREAD_CREATED = linked(
    201,
    {
        "ReadThread": Link(operation_id="getThread", parameters=NEW_THREAD),
        "Reply": Link(operation_id="createReply", parameters=NEW_THREAD),
        **post_links("$response.body#/post/id", NEW_KEY),
    },
)
POST_CREATED = linked(201, post_links("$response.body#/post/id", NEW_KEY))
POST_EDITED = linked(200, post_links("$response.body#/id", SAME_KEY))


EditKey = Annotated[
    str | None,
    HeaderParameter(
        name="Authorization",
        description="`Bearer <edit_key>`: the key returned when the post was created.",
        required=False,
    ),
]

ProofOfWork = Annotated[
    str | None,
    HeaderParameter(
        name=POW_HEADER,
        description="Optional: a solved challenge from GET /api/v1/pow/challenge (ALTCHA, "
        "base64 JSON). With it the normal writing limits apply; without, they are halved.",
        required=False,
    ),
]

# Ids, slugs and cursors hold no control characters (and PostgreSQL cannot even compare
# text holding a NUL byte): such values are refused before any look-up, in a path as
# naming nothing (404), in a query as invalid (422).
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
PathText = Annotated[str, PathParameter(pattern=PRINTABLE)]

BODY_METHODS = {"POST", "PUT", "PATCH"}
# Answers that carry an edit key, or follow a keyed request, are never stored.
PRIVATE = CacheControlHeader(no_store=True)


PersonaSessionHeader = Annotated[
    str | None,
    HeaderParameter(
        name="X-Persona-Session",
        description="Optional: a persona's session token (from POST /api/v1/personas or "
        "/api/v1/personas/session). What is written with it belongs to the persona, which "
        "then edits and deletes its posts without their edit keys. The API uses no cookies.",
        required=False,
    ),
]


async def api_author(personas: Personas, session: str | None, key: str | None = None) -> Author:
    """Who writes through the API: the edit key sent, and the persona whose session token
    came in ``X-Persona-Session`` (an ended or unknown session is a 401, not silence)."""
    if not session:
        return Author(key=key)
    persona_id = await personas.session_persona(session[:100])
    if persona_id is None:
        raise Unauthorized(
            "That persona session has ended or does not exist: log in again.",
            field="X-Persona-Session",
            code="session_ended",
        )
    return Author(key=key, persona_id=persona_id)


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

    @get("/categories", operation_id="listCategories", responses=errors(400))
    async def categories(self, forum: NamedDependency[Forum]) -> list[schemas.CategoryRead]:
        """The five fixed categories."""
        return await forum.categories()

    @get("/entities", operation_id="listEntities", responses=errors(400, 422))
    async def entities(
        self,
        forum: NamedDependency[Forum],
        kind: FromQuery[Literal["employer", "program", "certification"] | None] = None,
    ) -> list[schemas.EntityRead]:
        """Employers, programs and certifications that threads can be about."""
        return await forum.entities(kind)

    @get("/entities/{slug:str}", operation_id="getEntity", responses=errors(400, 404))
    async def entity(self, forum: NamedDependency[Forum], slug: PathText) -> schemas.EntityRead:
        return await forum.entity(slug)

    @get("/threads", operation_id="listThreads", responses=errors(400, 404, 422))
    async def threads(
        self,
        forum: NamedDependency[Forum],
        category: Annotated[str | None, QueryParameter(pattern=PRINTABLE)] = None,
        entity: Annotated[
            str | None, QueryParameter(description="Entity slug.", pattern=PRINTABLE)
        ] = None,
        cursor: Annotated[
            str | None,
            QueryParameter(
                description="`next` from the previous page.", max_length=200, pattern=PRINTABLE
            ),
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = THREADS_PER_PAGE,
        sort: Annotated[
            schemas.ThreadSort,
            QueryParameter(
                description="`activity` (latest activity first, the default), `newest` "
                "(newest threads first), `replies` (most replies first) or `unanswered` "
                "(threads without replies, newest first). A cursor keeps its order."
            ),
        ] = "activity",
        role: Annotated[
            RoleCategory | None,
            QueryParameter(description="Only threads with this role tag (SPEC §2)."),
        ] = None,
    ) -> schemas.ThreadList:
        """Published threads, one page at a time, in the order asked for."""
        if category is not None:
            await forum.category(category)
        entity_id = await forum.entity_id(entity) if entity is not None else None
        return await forum.threads(
            category=category, entity=entity_id, cursor=cursor, limit=limit, sort=sort, role=role
        )

    @post(
        "/threads",
        status_code=201,
        cache_control=PRIVATE,
        operation_id="createThread",
        operation_class=THREAD_CREATED,
        responses=errors(400, 401, 404, 413, 415, 422, 429),
    )
    async def create_thread(
        self,
        personas: NamedDependency[Personas],
        request: Request,
        forum: NamedDependency[Forum],
        guard: NamedDependency[AbuseControl],
        surveys: NamedDependency[Surveys],
        data: JSONBody[schemas.ThreadCreate],
        proof: ProofOfWork = None,
        persona_session: PersonaSessionHeader = None,
    ) -> schemas.ThreadCreated:
        """Start a thread. The answer holds the edit key: it is shown only this once."""
        await guard.limit(request, "thread", await guard.proof_of_work(proof))
        plan = EntityPlan(allow_new=data.new_entities)
        author = await api_author(personas, persona_session)
        attach = await attachments(
            request, guard, surveys, data, data.category, author.persona_id, plan
        )
        return await forum.create_thread(data, author, _publishing(data), attach, plan)

    @get("/threads/{thread_id:str}", operation_id="getThread", responses=errors(400, 404, 422))
    async def thread(
        self,
        forum: NamedDependency[Forum],
        thread_id: PathText,
        page: Annotated[int, QueryParameter(ge=1, le=100_000)] = 1,
    ) -> schemas.ThreadPage:
        """A thread with one page of its posts."""
        return await forum.thread_page(thread_id, page)

    @post(
        "/threads/{thread_id:str}/posts",
        status_code=201,
        cache_control=PRIVATE,
        operation_id="createReply",
        operation_class=POST_CREATED,
        responses=errors(400, 401, 403, 404, 409, 413, 415, 422, 429),
    )
    async def reply(
        self,
        personas: NamedDependency[Personas],
        request: Request,
        forum: NamedDependency[Forum],
        guard: NamedDependency[AbuseControl],
        surveys: NamedDependency[Surveys],
        thread_id: PathText,
        data: JSONBody[schemas.ReplyCreate],
        proof: ProofOfWork = None,
        persona_session: PersonaSessionHeader = None,
    ) -> schemas.PostCreated:
        """Reply to a thread. The answer holds the reply's edit key, shown only once."""
        await guard.limit(request, "reply", await guard.proof_of_work(proof))
        if data.author_key:
            await guard.limit(request, "edit_key")
        category = (await forum.thread(thread_id)).category
        plan = EntityPlan(allow_new=data.new_entities)
        author = await api_author(personas, persona_session)
        attach = await attachments(request, guard, surveys, data, category, author.persona_id, plan)
        return await forum.create_reply(thread_id, data, author, _publishing(data), attach, plan)

    @get("/posts/{post_id:str}", operation_id="getPost", responses=errors(400, 404))
    async def get_post(self, forum: NamedDependency[Forum], post_id: PathText) -> schemas.PostRead:
        return await forum.post(post_id)

    @patch(
        "/posts/{post_id:str}",
        cache_control=PRIVATE,
        operation_id="editPost",
        operation_class=POST_EDITED,
        responses=errors(400, 401, 403, 404, 409, 413, 415, 422, 429),
    )
    async def edit_post(
        self,
        personas: NamedDependency[Personas],
        request: Request,
        forum: NamedDependency[Forum],
        guard: NamedDependency[AbuseControl],
        post_id: PathText,
        data: JSONBody[schemas.PostUpdate],
        authorization: EditKey = None,
        persona_session: PersonaSessionHeader = None,
    ) -> schemas.PostRead:
        """Edit a post with its key; the post keeps its history and shows as edited."""
        await guard.limit(request, "edit_key")
        return await forum.edit_post(
            post_id, await api_author(personas, persona_session, authorization), data
        )

    @delete(
        "/posts/{post_id:str}",
        status_code=200,
        cache_control=PRIVATE,
        operation_id="deletePost",
        responses=errors(400, 401, 403, 404, 429),
    )
    async def delete_post(
        self,
        personas: NamedDependency[Personas],
        request: Request,
        forum: NamedDependency[Forum],
        guard: NamedDependency[AbuseControl],
        post_id: PathText,
        authorization: EditKey = None,
        persona_session: PersonaSessionHeader = None,
    ) -> schemas.PostRead:
        """Delete a post with its key: its text and history are erased, its place stays."""
        await guard.limit(request, "edit_key")
        return await forum.delete_post(
            post_id, await api_author(personas, persona_session, authorization)
        )

    @post(
        "/preview",
        status_code=200,
        cache_control=PRIVATE,
        operation_id="preview",
        responses=errors(400, 413, 415, 422, 429),
    )
    async def preview(
        self,
        request: Request,
        guard: NamedDependency[AbuseControl],
        data: JSONBody[schemas.Preview],
    ) -> schemas.PreviewRead:
        """Render Markdown exactly as a post would be, and list the details in it that may
        identify its author. Stores and logs nothing."""
        await guard.limit(request, "preview")
        findings = [
            schemas.FindingRead(kind=f.kind, start=f.start, end=f.end, message=f.message)
            for f in find_identifying_details(data.body)
        ]
        return schemas.PreviewRead(html=render_markdown(data.body), findings=findings)

    @get(
        "/pow/challenge",
        cache_control=PRIVATE,
        operation_id="getPowChallenge",
        responses=errors(400),
    )
    async def challenge(self, guard: NamedDependency[AbuseControl]) -> schemas.Challenge:
        """A proof-of-work challenge (ALTCHA v1, SHA-256): find `number` ≤ `maxNumber` with
        SHA-256(salt + number) = `challenge`, then send base64(JSON {algorithm, challenge,
        number, salt, signature}) in the X-Proof-Of-Work header of one write. Each solution
        is accepted once, within 20 minutes."""
        return schemas.Challenge(**guard.challenge())


async def attachments(
    request: Request,
    guard: AbuseControl,
    surveys: Surveys,
    data: schemas.ThreadCreate | schemas.ReplyCreate,
    category: str,
    persona_id: str | None,
    plan: EntityPlan,
) -> Attachment | None:
    """The survey and interview report sent with a new post: checked now (errors name
    their field), written later in the post's own transaction. The entities they name
    go into ``plan``, which the forum applies in that transaction."""
    checked = None
    if data.survey is not None:
        await guard.limit(request, "survey")
        checked = await surveys.check(data.survey, plan)
    interview = None
    if data.interview is not None:
        if category != "interviews":
            raise Invalid(
                "Interview reports belong to posts in the Interviews category.",
                field="interview",
            )
        interview = (data.interview, await surveys.check_interview(data.interview, plan))
    return surveys.attachment(checked, interview, persona_id)


def _publishing(data: schemas.ThreadCreate | schemas.ReplyCreate) -> Publishing:
    return Publishing(
        confirmed_findings=data.confirm_identifying_details, delay=data.delay_publication
    )
