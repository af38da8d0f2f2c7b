"""Atom feeds, the sitemap and robots.txt over HTTP, with conditional GET.

Feeds answer ``ETag`` and ``Last-Modified`` (to the day) and ``304 Not Modified`` to a
reader that already has the current version. Absolute addresses use
``OFFRAMP_PUBLIC_URL``; without it (development) they use the request's own address,
which is why none of these documents go into the shared page cache.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import urlsplit

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency

from offramp.config import Settings
from offramp.errors import NotFound
from offramp.feeds import service
from offramp.feeds.service import Feed, Feeds, Sitemaps, atom, prefixes, robots
from offramp.forum.api import PathText

ATOM_TYPE = "application/atom+xml; charset=utf-8"
XML_TYPE = "application/xml; charset=utf-8"


def base_url(request: Request, settings: Settings) -> str:
    return settings.public_url or str(request.base_url).rstrip("/")


def authority(request: Request, settings: Settings) -> str:
    """The host that names feed entries: the public one, else the request's."""
    return urlsplit(base_url(request, settings)).hostname or "localhost"


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def not_modified(request: Request, etag: str, last_modified: date | None) -> bool:
    """Whether the reader's copy is current (RFC 9110 §13.1: If-None-Match wins).

    Last-Modified is a day, so a reader that only sends If-Modified-Since gets a 304
    only for a feed last changed before today: today's may still change."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or etag in tags
    if_modified_since = request.headers.get("if-modified-since")
    if if_modified_since is None or last_modified is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        return False
    today = datetime.now(UTC).date()
    return last_modified < today and since >= _midnight(last_modified)


def document(
    request: Request, body: bytes, media_type: str, last_modified: date | None = None
) -> Response:
    """A public document with its validators, or 304 when the reader has it already."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag}
    if last_modified is not None:
        headers["Last-Modified"] = format_datetime(_midnight(last_modified), usegmt=True)
    if not_modified(request, etag, last_modified):
        return Response(b"", status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def feed_response(request: Request, settings: Settings, feed: Feed) -> Response:
    body = atom(feed, base_url(request, settings), authority(request, settings))
    return document(request, body, ATOM_TYPE, feed.updated)


class FeedPages(Controller):
    """Documents for feed readers and crawlers (not HTML pages, not the JSON API)."""

    include_in_schema = False

    @get("/feed.atom", name="feed_latest")
    async def latest(
        self, request: Request, feeds: NamedDependency[Feeds], settings: NamedDependency[Settings]
    ) -> Response:
        return feed_response(request, settings, await feeds.latest())

    @get("/c/{slug:str}/feed.atom", name="feed_category")
    async def category(
        self,
        request: Request,
        feeds: NamedDependency[Feeds],
        settings: NamedDependency[Settings],
        slug: PathText,
    ) -> Response:
        return feed_response(request, settings, await feeds.category(slug))

    @get("/entities/{slug:str}/feed.atom", name="feed_entity")
    async def entity(
        self,
        request: Request,
        feeds: NamedDependency[Feeds],
        settings: NamedDependency[Settings],
        slug: PathText,
    ) -> Response:
        return feed_response(request, settings, await feeds.entity(slug))

    @get("/threads/{thread_id:str}/feed.atom", name="feed_thread")
    async def thread(
        self,
        request: Request,
        feeds: NamedDependency[Feeds],
        settings: NamedDependency[Settings],
        thread_id: PathText,
    ) -> Response:
        return feed_response(request, settings, await feeds.thread(thread_id))

    @get("/sitemap.xml", name="sitemap")
    async def sitemap(self, request: Request, settings: NamedDependency[Settings]) -> Response:
        """Every public address in one file, or an index of files past the limit."""
        sitemaps = Sitemaps(limit=service.MAX_SITEMAP_URLS)
        base = base_url(request, settings)
        length = await sitemaps.prefix_length()
        if length is None:
            urls = await sitemaps.fixed_urls() + await sitemaps.thread_urls()
            return document(request, service.urlset(urls, base), XML_TYPE)
        parts = ["/sitemaps/pages.xml"] + [f"/sitemaps/threads/{p}" for p in prefixes(length)]
        return document(request, service.sitemap_index(parts, base), XML_TYPE)

    @get("/sitemaps/pages.xml", name="sitemap_pages")
    async def sitemap_pages(
        self, request: Request, settings: NamedDependency[Settings]
    ) -> Response:
        urls = await Sitemaps(limit=service.MAX_SITEMAP_URLS).fixed_urls()
        return document(request, service.urlset(urls, base_url(request, settings)), XML_TYPE)

    @get("/sitemaps/threads/{prefix:str}", name="sitemap_threads")
    async def sitemap_threads(
        self, request: Request, settings: NamedDependency[Settings], prefix: PathText
    ) -> Response:
        sitemaps = Sitemaps(limit=service.MAX_SITEMAP_URLS)
        length = await sitemaps.prefix_length()
        if length is None or prefix not in prefixes(length):
            raise NotFound("There is no such sitemap: start from /sitemap.xml.")
        urls = await sitemaps.thread_urls(prefix)
        return document(request, service.urlset(urls, base_url(request, settings)), XML_TYPE)

    @get("/robots.txt", name="robots")
    async def robots_txt(self, request: Request, settings: NamedDependency[Settings]) -> Response:
        return Response(robots(base_url(request, settings)), media_type="text/plain")
