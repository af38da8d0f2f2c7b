"""create_app(settings) -> Litestar: all wiring in one readable place."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from litestar import Litestar, get
from litestar.config.response_cache import ResponseCacheConfig
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.stores.memory import MemoryStore

from offramp import __version__, db
from offramp.anonymity.abuse import AbuseControl
from offramp.anonymity.api import PersonasApi
from offramp.anonymity.pages import PersonaPages
from offramp.anonymity.personas import Personas
from offramp.anonymity.ratelimit import RateLimiter, parse_limits
from offramp.anonymity.sessions import PersonaSessionMiddleware
from offramp.anonymity.stores import make_store
from offramp.config import Settings
from offramp.feeds.pages import FeedPages
from offramp.feeds.service import Feeds
from offramp.forum.api import ForumApi
from offramp.forum.pages import ForumPages
from offramp.forum.service import Forum
from offramp.moderation.accounts import Moderators
from offramp.moderation.api import ModerationPublicApi, ModeratorApi
from offramp.moderation.entities import EntityDesk
from offramp.moderation.pages import LoginPages, LogPages, ModeratorPages, ReportPages
from offramp.moderation.service import Moderation, log_confirmations
from offramp.moderation.sessions import ModeratorSessionMiddleware
from offramp.ops.coherence import content_generation, follow_generation
from offramp.ops.health import readiness_route
from offramp.ops.logs import RequestLog
from offramp.ops.metrics import metrics_handlers, metrics_middleware
from offramp.ops.replicas import ReadRouting
from offramp.ops.schedule import rebuild_statistics_when_due
from offramp.search.api import SearchApi
from offramp.search.pages import SearchPages
from offramp.search.service import SearchIndex
from offramp.stats.api import StatsApi
from offramp.stats.pages import StatsPages
from offramp.stats.service import Statistics
from offramp.surveys.api import SurveysApi
from offramp.surveys.pages import SurveyPages
from offramp.surveys.service import Surveys
from offramp.web import (
    EXCEPTION_HANDLERS,
    ContentGeneration,
    CrossSiteFormGuard,
    InvalidateOnWrite,
    StaticFiles,
    add_security_headers,
    frontend_dir,
    template_config,
)

log = logging.getLogger("offramp")


@get("/healthz", include_in_schema=False, cache=False)
async def healthz() -> dict[str, str]:
    """The process is alive (no I/O)."""
    return {"status": "ok"}


def create_app(settings: Settings, *, migrate: bool = False) -> Litestar:
    """Build the application. ``migrate=True`` applies pending migrations at start-up
    (the demo and the tests); production runs ``offramp migrate`` once instead."""
    settings = settings.with_secret_key()
    engine = db.bind(settings)
    replicas = getattr(engine, "router", None)  # read replicas (offramp.ops.replicas)
    search_index = SearchIndex()
    feeds = Feeds(secret=settings.key)
    forum = Forum(
        secret=settings.key,
        listeners=(search_index.changed,),
        confirmation_listeners=(log_confirmations,),
    )
    personas = Personas()
    moderators = Moderators(secret=settings.key)
    entity_desk = EntityDesk()
    moderation = Moderation(forum, sources=(entity_desk.pending_items, entity_desk.burst_items))
    surveys = Surveys(forum)
    statistics = Statistics(k=settings.stats_min_cell)
    store = make_store(settings.redis_url)
    guard = AbuseControl(
        secret=settings.key,
        limiter=RateLimiter(store, parse_limits(settings.rate_limits)),
        store=store,
        trusted_proxies=settings.trusted_proxies,
        form_min_seconds=settings.form_min_seconds,
        proof_of_work_enabled=settings.proof_of_work,
        pow_max_number=settings.proof_of_work_cost,
        onion=settings.onion,
        onion_ceiling=settings.onion_ceiling,
    )
    static = StaticFiles(frontend_dir() / "static")
    page_store = MemoryStore()
    generation = content_generation(settings, page_store)

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await db.open_pool(engine, settings)
        try:
            if migrate:
                await db.migrate()
            elif pending := await db.pending_migrations():
                raise RuntimeError(
                    f"the database needs migrating ({len(pending)} pending): run `offramp migrate`"
                )
            wrote = _marking_writes(generation, replicas)
            background = [
                asyncio.create_task(_sweep_expired(page_store)),
                asyncio.create_task(follow_generation(generation)),
                asyncio.create_task(_publish_delayed_posts(forum, wrote)),
                asyncio.create_task(
                    _rebuild_statistics(statistics, wrote, settings.stats_rebuild_hours)
                ),
            ]
            try:
                yield
            finally:
                for task in background:
                    task.cancel()
                # Let cancelled work roll back and hand its connections back before
                # the pools close (a connection still held would stall the shutdown).
                await asyncio.gather(*background, return_exceptions=True)
        finally:
            await store.close()
            await db.close_pool(engine)

    app = Litestar(
        route_handlers=[
            ForumPages,
            ForumApi,
            SurveysApi,
            SurveyPages,
            StatsApi,
            StatsPages,
            PersonaPages,
            ReportPages,
            LoginPages,
            ModeratorPages,
            LogPages,
            ModerationPublicApi,
            PersonasApi,
            ModeratorApi,
            SearchPages,
            SearchApi,
            FeedPages,
            healthz,
            readiness_route(store),
            *metrics_handlers(settings.metrics_addresses),
            static.router(),
        ],
        dependencies={
            "forum": Provide(lambda: forum, use_cache=True, sync_to_thread=False),
            "guard": Provide(lambda: guard, use_cache=True, sync_to_thread=False),
            "personas": Provide(lambda: personas, use_cache=True, sync_to_thread=False),
            "moderators": Provide(lambda: moderators, use_cache=True, sync_to_thread=False),
            "moderation": Provide(lambda: moderation, use_cache=True, sync_to_thread=False),
            "entity_desk": Provide(lambda: entity_desk, use_cache=True, sync_to_thread=False),
            "surveys": Provide(lambda: surveys, use_cache=True, sync_to_thread=False),
            "statistics": Provide(lambda: statistics, use_cache=True, sync_to_thread=False),
            "feeds": Provide(lambda: feeds, use_cache=True, sync_to_thread=False),
            "search_index": Provide(lambda: search_index, use_cache=True, sync_to_thread=False),
            "settings": Provide(lambda: settings, use_cache=True, sync_to_thread=False),
        },
        before_send=[static.cache_headers, add_security_headers],
        middleware=[
            *metrics_middleware(settings.metrics_addresses),
            CrossSiteFormGuard,
            DefineMiddleware(PersonaSessionMiddleware, personas=personas, settings=settings),
            DefineMiddleware(ModeratorSessionMiddleware, moderators=moderators, settings=settings),
            DefineMiddleware(InvalidateOnWrite, generation=generation),
            # Inside InvalidateOnWrite: the last-write mark is raised before the page
            # cache's generation moves, so no instance caches a page from a lagging replica.
            *([DefineMiddleware(ReadRouting, router=replicas)] if replicas else []),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        template_config=template_config(settings, guard.form_token, static),
        response_cache_config=ResponseCacheConfig(
            default_expiration=settings.page_cache_seconds or None,
            key_builder=generation.cache_key,
            store="pages",
            cache_response_filter=lambda scope, status: (
                settings.page_cache_seconds > 0 and status == 200 and "persona_token" not in scope
            ),
        ),
        stores={"pages": page_store},
        openapi_config=OpenAPIConfig(
            title="Offramp API",
            version=__version__,
            description="Anonymous posts about leaving clinical practice. Errors always have "
            'the body {"error": {"code", "message", "field"}}.',
            path="/schema",
            render_plugins=[JsonRenderPlugin()],
        ),
        request_max_body_size=settings.max_request_bytes,
        lifespan=[lifespan],
        logging_config=None,
        debug=False,
        state={
            "settings": settings,
            "generation": generation,
            "guard": guard,
            "replicas": replicas,
        },
    )
    # Outside everything else (routing included), so unknown paths and errors raised
    # before any route runs also get a request id and a request line.
    app.asgi_handler = RequestLog(app.asgi_handler)
    return app


def _marking_writes(generation: ContentGeneration, replicas) -> ContentGeneration:
    """The generation to bump after background writes; with read replicas, bumping it
    first raises the last-write mark (so pages re-rendered elsewhere read the write)."""
    if replicas is None:
        return generation

    class MarkThenBump:
        async def bump(self) -> None:
            await replicas.note_write()
            await generation.bump()

    return MarkThenBump()  # type: ignore[return-value]


async def _publish_delayed_posts(forum: Forum, generation: ContentGeneration) -> None:
    """Publish delayed posts when their hour comes. The state lives in the database,
    so a restart loses nothing; running on several instances at once is safe."""
    while True:
        try:
            if await forum.publish_due():
                await generation.bump()
        except Exception:  # a failed round is retried next minute, never fatal
            log.exception("publishing delayed posts failed")
        await asyncio.sleep(60)


async def _rebuild_statistics(
    statistics: Statistics, generation: ContentGeneration, every_hours: int
) -> None:
    """The published figures, refreshed as a batch (SPEC §5): when none exist yet or the
    last rebuild is older than the interval. Checked hourly; one
    instance at a time rebuilds (``offramp.ops.schedule``). The first check
    waits a minute, so a starting (or briefly running) process does not begin with a
    full rebuild; `offramp stats rebuild` runs one at once."""
    await asyncio.sleep(60)
    while True:
        try:
            if await rebuild_statistics_when_due(statistics, every_hours):
                await generation.bump()
        except Exception:  # retried at the next check, never fatal
            log.exception("rebuilding the statistics failed")
        await asyncio.sleep(3600)


async def _sweep_expired(store: MemoryStore, every_s: float = 60.0) -> None:
    """Drop expired cached pages so the cache's memory stays bounded."""
    while True:
        await asyncio.sleep(every_s)
        await store.delete_expired()
