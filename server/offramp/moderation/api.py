"""JSON API of moderation under /api/v1: reports and takedown requests from anyone,
the queue and the actions for moderators (the same service as the pages).

Moderator routes take the moderator session cookie and refuse everyone else with
401. They accept JSON bodies only, which a form on another site cannot send.
"""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency
from litestar.params import JSONBody

from offramp.anonymity.abuse import AbuseControl
from offramp.forum.api import PathText, errors, require_json
from offramp.moderation import schemas
from offramp.moderation.entities import EntityDesk
from offramp.moderation.service import Actor, Moderation
from offramp.moderation.sessions import identity_of, moderators_only

PRIVATE = CacheControlHeader(no_store=True)


class ModerationPublicApi(Controller):
    """What anyone can send: reports and takedown requests."""

    path = "/api/v1/posts"
    tags = ["moderation"]
    before_request = require_json

    @post(
        "/{post_id:str}/reports",
        status_code=201,
        cache_control=PRIVATE,
        operation_id="reportPost",
        responses=errors(400, 404, 409, 413, 415, 422, 429),
    )
    async def report(
        self,
        request: Request,
        moderation: NamedDependency[Moderation],
        guard: NamedDependency[AbuseControl],
        post_id: PathText,
        data: JSONBody[schemas.ReportCreate],
    ) -> schemas.Received:
        """Report a post to the moderators. Anonymous; the note is seen by moderators only."""
        await guard.limit(request, "report")
        return await moderation.report(post_id, data)

    @post(
        "/{post_id:str}/takedown-requests",
        status_code=201,
        cache_control=PRIVATE,
        operation_id="requestTakedown",
        responses=errors(400, 404, 409, 413, 415, 422, 429),
    )
    async def takedown(
        self,
        request: Request,
        moderation: NamedDependency[Moderation],
        guard: NamedDependency[AbuseControl],
        post_id: PathText,
        data: JSONBody[schemas.TakedownCreate],
    ) -> schemas.Received:
        """Ask for a post to be taken down as false or unlawful. The post is replaced by a
        notice while a moderator reviews it; the request (by organisation) and its outcome
        are logged publicly; the post's author can answer."""
        await guard.limit(request, "report")
        return await moderation.request_takedown(post_id, data)


class ModeratorApi(Controller):
    """The queue and the actions: moderators only (401 for anyone else)."""

    path = "/api/v1/moderation"
    tags = ["moderation"]
    guards = [moderators_only]
    before_request = require_json
    cache_control = PRIVATE

    @get("/queue", operation_id="moderationQueue", responses=errors(400, 401))
    async def queue(self, moderation: NamedDependency[Moderation]) -> list[schemas.QueueItem]:
        """Everything awaiting a decision, most urgent first."""
        return await moderation.queue()

    @get("/posts/{post_id:str}", operation_id="reviewPost", responses=errors(400, 401, 404, 422))
    async def review(
        self, moderation: NamedDependency[Moderation], post_id: PathText
    ) -> schemas.PostReview:
        """A post with its thread, revisions, open reports and takedown request."""
        return await moderation.review(post_id)

    @post(
        "/posts/{post_id:str}/actions",
        status_code=201,
        operation_id="moderatePost",
        responses=errors(400, 401, 404, 409, 415, 422),
    )
    async def act_on_post(
        self,
        request: Request,
        moderation: NamedDependency[Moderation],
        post_id: PathText,
        data: JSONBody[schemas.PostActionCreate],
    ) -> schemas.LogEntryRead:
        """Act on a post; answers with the public log entry the action wrote."""
        return await moderation.act_on_post(actor_of(request), post_id, data)

    @post(
        "/threads/{thread_id:str}/actions",
        status_code=201,
        operation_id="moderateThread",
        responses=errors(400, 401, 404, 409, 415, 422),
    )
    async def act_on_thread(
        self,
        request: Request,
        moderation: NamedDependency[Moderation],
        thread_id: PathText,
        data: JSONBody[schemas.ThreadActionCreate],
    ) -> schemas.LogEntryRead:
        """Lock or unlock a thread; answers with the public log entry."""
        return await moderation.act_on_thread(actor_of(request), thread_id, data)

    @get(
        "/entities/{slug:str}",
        operation_id="reviewEntity",
        responses=errors(400, 401, 404, 422),
    )
    async def review_entity(
        self, entity_desk: NamedDependency[EntityDesk], slug: PathText
    ) -> schemas.EntityReview:
        """An entry of the directory with what awaits a decision about it."""
        return await entity_desk.review(slug)

    @post(
        "/entities/{slug:str}/actions",
        status_code=201,
        operation_id="moderateEntity",
        responses=errors(400, 401, 404, 409, 415, 422),
    )
    async def act_on_entity(
        self,
        request: Request,
        moderation: NamedDependency[Moderation],
        entity_desk: NamedDependency[EntityDesk],
        slug: PathText,
        data: JSONBody[schemas.EntityActionCreate],
    ) -> schemas.LogEntryRead:
        """Approve, reject, edit or merge an entry, or decide on surveys naming it that
        were held out as a burst; answers with the public log entry."""
        entry = await entity_desk.act(actor_of(request), slug, data)
        return await moderation.entry(entry)


def actor_of(request: Request) -> Actor:
    """The moderator behind a request that passed ``moderators_only``."""
    identity = identity_of(request)
    assert identity is not None
    return Actor(moderator_id=identity.moderator_id, role=identity.role)
