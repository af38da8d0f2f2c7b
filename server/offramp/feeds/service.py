"""Atom feeds, the sitemap and robots.txt: what readers and crawlers subscribe to.

Knows nothing of HTTP. Every feed is one or two bounded queries (the newest 30 entries,
walked down an index), so a feed costs the same at a thousand threads as at a million.
Dates are days (SPEC §3.5: public pages show days, never hours); entry ids are ``tag:``
URIs that never change for an entry.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

import nh3

from offramp.anonymity.pseudonyms import pseudonym
from offramp.errors import NotFound
from offramp.forum.render import ALLOWED_ATTRIBUTES, ALLOWED_SCHEMES, ALLOWED_TAGS, LINK_REL
from offramp.forum.service import POSTS_PER_PAGE, thread_url
from offramp.forum.tables import Category, Entity, Post, Thread

ENTRIES = 30
TAG_YEAR = "2026"  # the date in every tag: id (RFC 4151); never change it
EMPTY_FEED_DAY = date(2026, 1, 1)  # "updated" of a feed that has no entries yet
ATOM = "http://www.w3.org/2005/Atom"
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
DELETED = "[deleted by author]"

ET.register_namespace("", ATOM)


@dataclass(frozen=True)
class Entry:
    key: str  # the entry's part of its tag: id, e.g. "thread/abc"
    title: str
    path: str  # the HTML page, site-relative
    published: date
    updated: date
    html: str  # sanitised
    author: str | None = None
    categories: tuple[tuple[str, str], ...] = ()  # (term, label)


@dataclass(frozen=True)
class Feed:
    key: str  # the feed's part of its tag: id, e.g. "category/coaching"
    title: str
    subtitle: str
    path: str  # the HTML page the feed follows
    feed_path: str
    entries: list[Entry] = field(default_factory=list)

    @property
    def updated(self) -> date:
        return max((entry.updated for entry in self.entries), default=EMPTY_FEED_DAY)


def _day(value: datetime | str) -> date:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment.date()


def clean(html: str) -> str:
    """Post HTML for a feed: stored already sanitised, cleaned again with the same
    allowlist (minus our CSS classes), so a feed never carries more than a page."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_SCHEMES,
        link_rel=LINK_REL,
    )


_THREAD_COLUMNS = (
    Thread.id,
    Thread.title,
    Thread.category,
    Thread.category.name.as_alias("category_name"),
    Thread.entity.slug.as_alias("entity_slug"),
    Thread.entity.name.as_alias("entity_name"),
    Thread.created_at,
)


@dataclass(frozen=True)
class Feeds:
    """The feeds service, bound to the secret that derives pseudonyms."""

    secret: bytes

    async def latest(self) -> Feed:
        return Feed(
            key="threads",
            title="Offramp: new threads",
            subtitle="New threads on Offramp, anonymous reports from physicians leaving "
            "clinical practice.",
            path="/",
            feed_path="/feed.atom",
            entries=await self._thread_entries(),
        )

    async def category(self, slug: str) -> Feed:
        row = await Category.select().where(Category.slug == slug).first()
        if row is None:
            raise NotFound(f"There is no category '{slug}'.", field="slug")
        return Feed(
            key=f"category/{slug}",
            title=f"Offramp: {row['name']}",
            subtitle=row["description"],
            path=f"/c/{slug}",
            feed_path=f"/c/{slug}/feed.atom",
            entries=await self._thread_entries(Thread.category == slug),
        )

    async def entity(self, slug: str) -> Feed:
        row = await Entity.select(Entity.id, Entity.name).where(Entity.slug == slug).first()
        if row is None:
            raise NotFound(f"There is no employer, program or certification '{slug}'.")
        return Feed(
            key=f"entity/{slug}",
            title=f"Offramp: threads about {row['name']}",
            subtitle=f"New threads on Offramp about {row['name']}.",
            path=f"/entities/{slug}",
            feed_path=f"/entities/{slug}/feed.atom",
            entries=await self._thread_entries(Thread.entity == row["id"]),
        )

    async def thread(self, thread_id: str) -> Feed:
        thread = await (
            Thread.select(Thread.id, Thread.title, Thread.op_ref)
            .where(Thread.id == thread_id, Thread.status == "published")
            .first()
        )
        if thread is None:
            raise NotFound("There is no such thread.", field="thread_id")
        posts = await (
            Post.select(
                Post.id, Post.seq, Post.author_ref, Post.body_html, Post.created_at, Post.updated_at
            )
            .where(Post.thread == thread_id, Post.status == "published")
            .order_by(Post.seq, ascending=False)
            .limit(ENTRIES)
        )
        return Feed(
            key=f"thread/{thread_id}",
            title=f"Offramp: {thread['title']}",
            subtitle="The posts of one thread on Offramp, newest first.",
            path=thread_url(thread_id),
            feed_path=f"/threads/{thread_id}/feed.atom",
            entries=[self._post_entry(thread, post) for post in posts],
        )

    def _post_entry(self, thread: dict, post: dict) -> Entry:
        author = pseudonym(self.secret, post["author_ref"], thread["id"], thread["op_ref"])
        number = post["seq"]
        what = "Opening post" if number == 1 else f"Reply {number - 1}"
        page = (number - 1) // POSTS_PER_PAGE + 1
        return Entry(
            key=f"post/{post['id']}",
            title=f"{what} by {author}: {thread['title']}",
            path=thread_url(thread["id"], page) + f"#p{number}",
            published=_day(post["created_at"]),
            updated=_day(post["updated_at"]),
            html=clean(post["body_html"]),
            author=author,
        )

    async def _thread_entries(self, *conditions) -> list[Entry]:
        """The newest threads (by the day they were started), with their opening posts."""
        threads = await (
            Thread.select(*_THREAD_COLUMNS)
            .where(Thread.status == "published", *conditions)
            .order_by(Thread.created_at, Thread.id, ascending=False)
            .limit(ENTRIES)
        )
        if not threads:
            return []
        openings = await Post.select(
            Post.thread, Post.status, Post.body_html, Post.updated_at
        ).where(Post.thread.is_in([row["id"] for row in threads]), Post.seq == 1)
        opening = {row["thread"]: row for row in openings}
        return [_thread_entry(row, opening.get(row["id"])) for row in threads]


def _thread_entry(thread: dict, opening: dict | None) -> Entry:
    shown = opening is not None and opening["status"] == "published"
    html = clean(opening["body_html"]) if shown else f"<p>{DELETED}</p>"
    started = _day(thread["created_at"])
    categories = [(thread["category"], thread["category_name"])]
    if thread["entity_slug"]:
        categories.append((thread["entity_slug"], thread["entity_name"]))
    return Entry(
        key=f"thread/{thread['id']}",
        title=thread["title"],
        path=thread_url(thread["id"]),
        published=started,
        updated=max(started, _day(opening["updated_at"])) if opening else started,
        html=html,
        categories=tuple(categories),
    )


# -- Atom ---------------------------------------------------------------------------------


def tag(authority: str, key: str) -> str:
    """A tag: URI (RFC 4151), the same for an entry forever."""
    return f"tag:{authority},{TAG_YEAR}:{key}"


def _stamp(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _add(parent: ET.Element, name: str, text: str | None = None, **attributes: str):
    element = ET.SubElement(parent, f"{{{ATOM}}}{name}", attributes)
    if text is not None:
        element.text = text
    return element


def atom(feed: Feed, base_url: str, authority: str) -> bytes:
    """The feed as an Atom 1.0 document (RFC 4287). ``base_url`` makes links absolute."""
    root = ET.Element(f"{{{ATOM}}}feed", {XML_BASE: base_url + "/"})
    _add(root, "id", tag(authority, feed.key))
    _add(root, "title", feed.title)
    _add(root, "subtitle", feed.subtitle)
    _add(root, "updated", _stamp(feed.updated))
    _add(root, "link", rel="self", type="application/atom+xml", href=base_url + feed.feed_path)
    _add(root, "link", rel="alternate", type="text/html", href=base_url + feed.path)
    author = _add(root, "author")
    _add(author, "name", "Anonymous posters on Offramp")
    _add(root, "generator", "Offramp")
    for entry in feed.entries:
        _entry(root, entry, base_url, authority)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _entry(root: ET.Element, entry: Entry, base_url: str, authority: str) -> None:
    element = _add(root, "entry")
    _add(element, "id", tag(authority, entry.key))
    _add(element, "title", entry.title)
    _add(element, "link", rel="alternate", type="text/html", href=base_url + entry.path)
    _add(element, "published", _stamp(entry.published))
    _add(element, "updated", _stamp(entry.updated))
    if entry.author:
        _add(_add(element, "author"), "name", entry.author)
    for term, label in entry.categories:
        _add(element, "category", term=term, label=label)
    _add(element, "content", entry.html, type="html")


# -- sitemap and robots.txt --------------------------------------------------------------

SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"
MAX_SITEMAP_URLS = 50_000  # the sitemap protocol's limit per file
ID_ALPHABET = "23456789abcdefghijkmnpqrstuvwxyz"  # offramp.ids: thread ids are random


@dataclass(frozen=True)
class SitemapUrl:
    path: str
    lastmod: date | None = None


def urlset(urls: Iterable[SitemapUrl], base_url: str) -> bytes:
    root = ET.Element("urlset", {"xmlns": SITEMAP})
    for url in urls:
        element = ET.SubElement(root, "url")
        ET.SubElement(element, "loc").text = base_url + url.path
        if url.lastmod:
            ET.SubElement(element, "lastmod").text = url.lastmod.isoformat()
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def sitemap_index(paths: Iterable[str], base_url: str) -> bytes:
    root = ET.Element("sitemapindex", {"xmlns": SITEMAP})
    for path in paths:
        ET.SubElement(ET.SubElement(root, "sitemap"), "loc").text = base_url + path
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def prefixes(length: int) -> list[str]:
    """Every thread-id prefix of ``length`` characters, in order."""
    found = [""]
    for _ in range(length):
        found = [prefix + character for prefix in found for character in ID_ALPHABET]
    return found


def _after(prefix: str) -> str | None:
    """The smallest string above every id starting with ``prefix`` (None: no bound)."""
    while prefix:
        position = ID_ALPHABET.index(prefix[-1])
        if position + 1 < len(ID_ALPHABET):
            return prefix[:-1] + ID_ALPHABET[position + 1]
        prefix = prefix[:-1]
    return None


@dataclass(frozen=True)
class Sitemaps:
    """The public pages crawlers may list: one file, or an index of files when there are
    more than ``limit`` addresses. Threads are split by the first characters of their
    random ids, so each file is a range scan of the primary key, about equally full."""

    limit: int = MAX_SITEMAP_URLS

    async def thread_count(self) -> int:
        return await Thread.count().where(Thread.status == "published")

    async def prefix_length(self) -> int | None:
        """None when everything fits in one file; else the id-prefix length that keeps
        each thread file at about half the limit."""
        threads = await self.thread_count()
        if threads + await self._fixed_count() <= self.limit:
            return None
        length = 1
        while threads / len(ID_ALPHABET) ** length > self.limit / 2:
            length += 1
        return length

    async def _fixed_count(self) -> int:
        return 2 + await Category.count() + await Entity.count().where(Entity.status == "approved")

    async def fixed_urls(self) -> list[SitemapUrl]:
        """Home, the directory, categories and entities."""
        categories = await Category.select(Category.slug).order_by(Category.position)
        entities = await (
            Entity.select(Entity.slug).where(Entity.status == "approved").order_by(Entity.slug)
        )
        return [
            SitemapUrl("/"),
            SitemapUrl("/entities"),
            *(SitemapUrl(f"/c/{row['slug']}") for row in categories),
            *(SitemapUrl(f"/entities/{row['slug']}") for row in entities),
        ]

    async def thread_urls(self, prefix: str = "") -> list[SitemapUrl]:
        """Published threads whose id starts with ``prefix`` (all when empty)."""
        query = Thread.select(Thread.id, Thread.last_activity).where(Thread.status == "published")
        if prefix:
            query = query.where(Thread.id >= prefix)
            if (bound := _after(prefix)) is not None:
                query = query.where(Thread.id < bound)
        rows = await query.order_by(Thread.id).limit(self.limit)
        return [SitemapUrl(thread_url(row["id"]), _day(row["last_activity"])) for row in rows]


def robots(base_url: str) -> str:
    """Crawl the public pages; leave searches, forms, personal and API pages alone."""
    return (
        "User-agent: *\n"
        "Disallow: /search\n"
        "Disallow: /new\n"
        "Disallow: /posts/\n"
        "Disallow: /personas\n"
        "Disallow: /api/\n"
        "Disallow: /schema\n"
        "Allow: /\n"
        f"\nSitemap: {base_url}/sitemap.xml\n"
    )
