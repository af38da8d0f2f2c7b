"""Every HTML page of Offramp, in every state a reader meets: what the judges judge.

A page state is a name, the route template that answers it (as the app declares it,
e.g. ``/threads/{thread_id:str}``), the method, and how to get it: a GET of an
address, or a POST of form data to an address. Addresses and form values may name
seeded data in braces (``/threads/{short_thread}``: the fields of :class:`Seeded`).

Adding a page state is one line in ``STATES``::

    get("stats-entity", "/stats/{slug:str}", "/stats/{entity}"),
    post("search-errors", "/search", "/search", {"q": ""}, 422),

The number after the address (or form) is the status the page must answer with, 200
when left out: ``test_every_state_answers_as_declared`` checks it. A form is posted
with a fresh form token, as from the site's own page. ``stage=`` picks when the state
is fetched.

``test_every_html_route_is_in_the_inventory`` fails, with the line to add, when an
HTML route has no state here. Which routes are HTML pages: every route hidden from
the OpenAPI schema (``include_in_schema=False``: the JSON API is documented there,
pages are not), except the OpenAPI document itself and the routes in ``NOT_PAGES``,
each listed with what it answers instead. So a new hidden route is a page until
someone says otherwise.

States are fetched stage by stage (see :class:`Stage`), each stage through a fresh
app on the same database, so the page cache never serves one stage's page in another.
Inside a stage they are fetched in list order by one client that keeps cookies, so a
state may build on an earlier one (log in, then look).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path

from litestar import Litestar
from litestar.testing import TestClient

from offramp.app import create_app
from offramp.config import Settings
from offramp.forum.seed import ensure_entities
from offramp.forum.service import POSTS_PER_PAGE, THREADS_PER_PAGE
from offramp.stats.service import Statistics
from offramp.surveys.seed import seed_surveys

from ..conftest import ORIGIN, TEST_SECRET, submit
from ..forum.test_pages import drop_table
from ..moderation import judging


class Stage(Enum):
    """When a state is fetched, in this order."""

    EMPTY = "on a fresh database"
    SEEDED = "on the seeded database"
    PERSONA = "on the seeded database, by a client that makes a persona and keeps its cookie"
    MODERATOR = "on the seeded database, by a client that logs moderators in and keeps its cookie"
    DEMO = "on the seeded database, with the demo banner on"
    LIMITED = "on the seeded database, with rate limits tight enough to meet (429 pages)"
    BROKEN = "with a table dropped behind the app's back (server errors)"


@dataclass(frozen=True)
class PageState:
    """One page in one state, and how to get it."""

    name: str
    route: str | None  # the route template; None for an address no route answers
    url: str  # may name fields of Seeded in braces
    method: str = "GET"
    form: Mapping[str, str] = field(default_factory=dict)  # values may name fields too
    status: int = 200
    stage: Stage = Stage.SEEDED
    # A finding of the HTML judge that needs a fix outside frontend/: its test is
    # expected to fail (strictly: it fails once fixed, so the mark gets removed).
    html_known_issue: str = ""


def get(
    name: str,
    route: str | None,
    url: str | None = None,
    status: int = 200,
    *,
    stage: Stage = Stage.SEEDED,
    html_known_issue: str = "",
) -> PageState:
    """A page read with GET; ``url`` defaults to the route when it has no parameters."""
    if url is None:
        if route is None or "{" in route:
            raise ValueError(f"{name}: give the address to fetch for {route}")
        url = route
    return PageState(name, route, url, "GET", {}, status, stage, html_known_issue)


def post(
    name: str,
    route: str,
    url: str,
    form: Mapping[str, str],
    status: int = 200,
    *,
    stage: Stage = Stage.SEEDED,
    html_known_issue: str = "",
) -> PageState:
    """A page answered to a form POST (a preview, errors, a confirmation…)."""
    return PageState(name, route, url, "POST", dict(form), status, stage, html_known_issue)


# -- what is posted ---------------------------------------------------------------------

# Markdown that exercises everything the renderer lets through. No braces: form values
# are filled in with str.format.
RICH_BODY = """Four rounds over **two weeks**; the *panel* asked about ~~nothing~~ denials.

# What they asked

> Why are you leaving clinical work?

1. recruiter screen
2. case review with a `UM` criteria set

- no take-home
- offer in 10 days

| round | hours |
| :--- | ---: |
| panel | 3 |

```
criteria: InterQual
```

More at https://example.org and [their careers page](https://example.com/careers).
Their logo: ![logo](https://tracker.example/pixel.gif), ours: ![Offramp](/static/favicon.svg)

---
Good luck."""

THREAD = {
    "title": "Physician advisor interview, start to offer",
    "category": "interviews",
    "body": "Hours are *predictable*.",
}
PUBLISH = {"action": "publish"}
PREVIEW = {"action": "preview"}
UNKNOWN_ENTITY = {**THREAD, "entity": "Nobody Inc", **PUBLISH}
NEW_ENTITY = {**UNKNOWN_ENTITY, "new_entities": "yes"}  # (its kind is still missing)
NO_KEY = "this-is-not-the-key"
WRONG_AUTHOR_KEY = {"body": "Me again.", "author_key": NO_KEY, **PUBLISH}
THANKS = {"body": "Thanks, that helps.", **PUBLISH}
WITH_EMAIL = "Happy to say more: write to jane.doe@example.com."
IDENTIFYING = {**THREAD, "body": WITH_EMAIL}
CONFIRMED = {**IDENTIFYING, "confirm_identifying_details": "yes", **PUBLISH}
LATER = {"body": "Posted at a random hour.", "delay_publication": "yes", **PUBLISH}
EXPIRED = {**THREAD, "form_token": "from-an-old-page", **PUBLISH}
WITH_KEY = {"edit_key": "{short_key}"}  # the opening post's key
WITH_REPLY_KEY = {"edit_key": "{reply_key}"}
WITH_SCHEDULED_KEY = {"edit_key": "{scheduled_key}"}
CHANGED = {"body": "Changed my mind.", **PUBLISH}
SURE = {"confirm": "yes"}

# Personas: one is made, used, renamed, logged out and in, and deleted, in this order.
HANDLE = "quiet-reader-7"
PASSPHRASE, NEW_PASSPHRASE = "correct horse battery staple", "another horse, another staple"
NEW_PERSONA = {"handle": HANDLE, "passphrase": PASSPHRASE, "passphrase_again": PASSPHRASE}
BAD_PERSONA = {"handle": "x", "passphrase": "short", "passphrase_again": "other"}
DIFFER = {"passphrase": PASSPHRASE, "new_passphrase": NEW_PASSPHRASE}
CHANGE = {**DIFFER, "new_passphrase_again": NEW_PASSPHRASE}
WRONG_LOGIN = {"login_handle": HANDLE, "login_passphrase": "not the passphrase"}
LOGIN = {"login_handle": HANDLE, "login_passphrase": NEW_PASSPHRASE}
WRONG_DELETE = {"delete_passphrase": "not the passphrase"}
DELETE_PERSONA = {"delete_passphrase": NEW_PASSPHRASE}
AS_PERSONA = Stage.PERSONA

# Markdown headings keep their level (+2) whatever comes before them.

# Route templates, as the app declares them.
CATEGORY = "/c/{slug:str}"
THREAD_PAGE = "/threads/{thread_id:str}"
REPLY = "/threads/{thread_id:str}/reply"
ENTITY = "/entities/{slug:str}"
MANAGE = "/posts/{post_id:str}/manage"
EDIT = "/posts/{post_id:str}/edit"
DELETE = "/posts/{post_id:str}/delete"
ME_PASSPHRASE = "/personas/me/passphrase"
ME_DELETE = "/personas/me/delete"
LOG_IN = "/personas/login"

# Addresses of seeded things.
SHORT = "/threads/{short_thread}"
SHORT_REPLY = "/threads/{short_thread}/reply"
DEEP = "/threads/{deep_thread}"
TRACK, UPDATE = "/surveys/track", "/surveys/update"
SEARCHING = {
    "survey.status": "still_searching",
    "survey.search_started": "2026-01",
    "survey.paid_any": "no",
}
HIRED_MISSING = {
    "survey.status": "hired_nonclinical",
    "survey.search_started": "2026-01",
    "survey.outcome_month": "2026-06",
    "survey.paid_any": "yes",
}
EDIT_OPENING = "/posts/{short_post}/edit"
EDIT_A_REPLY = "/posts/{reply_post}/edit"
EDIT_SCHEDULED = "/posts/{scheduled_post}/edit"
DELETE_SCHEDULED = "/posts/{scheduled_post}/delete"

# Moderation: reports and takedown requests by readers, then moderators at work.
REPORT, TAKEDOWN = "/posts/{post_id:str}/report", "/posts/{post_id:str}/takedown"
ANSWER = "/posts/{post_id:str}/takedown/answer"
REPORT_SHORT, TAKEDOWN_REPLY = "/posts/{short_post}/report", "/posts/{reply_post}/takedown"
ANSWER_REPLY = "/posts/{reply_post}/takedown/answer"
CLAIM = {"organisation": "Acme Coaching", "claim": "Every statement in this reply is false."}
MOD_LOGIN, MOD_CODE, MOD_ENROL = "/moderation/login", "/moderation/login/code", "/moderation/enrol"
MOD_LOGOUT, REVIEW = "/moderation/logout", "/moderation/posts/{post_id:str}"
ACT, ACT_SHORT = "/moderation/posts/{post_id:str}/actions", "/moderation/posts/{short_post}/actions"
LOCK = "/moderation/threads/{thread_id:str}/actions"
ENTITY_REVIEW = "/moderation/entities/{slug:str}"
ENTITY_ACT = "/moderation/entities/{slug:str}/actions"
NEW_CODES = "/moderation/account/recovery-codes"
EVERYWHERE = "/moderation/account/logout-everywhere"
AS_MODERATOR = Stage.MODERATOR
NEW_MOD = {"handle": judging.NEW_MODERATOR, "password": judging.PASSWORD}
MOD = {"handle": judging.MODERATOR, "password": judging.PASSWORD}
WRONG_CODE = {"code": "not-a-code"}
HIDE = {"action": "hide", "reason": "Advertising"}


# -- the inventory -------------------------------------------------------------------

# The table keeps one state to a line where it fits: the formatter would spread
# many of them over five.
# fmt: off
STATES: list[PageState] = [
    # Reading, before anyone has posted.
    get("home-empty", "/", stage=Stage.EMPTY),
    get("category-empty", CATEGORY, "/c/coaching", stage=Stage.EMPTY),
    get("entities-empty", "/entities", stage=Stage.EMPTY),
    get("stats-empty", "/stats", stage=Stage.EMPTY),
    # Reading.
    get("home", "/"),
    get("category", CATEGORY, "/c/{busy_category}"),
    get("category-page-2", CATEGORY, "/c/{busy_category}?after={category_cursor}"),
    get("home-most-replies", "/", "/?sort=replies"),
    get("home-role", "/", "/?role=consulting&sort=newest"),
    get("home-bad-role", "/", "/?role=astronaut", status=422),
    get("category-unanswered", CATEGORY, "/c/{busy_category}?sort=unanswered"),
    get("category-bad-sort", CATEGORY, "/c/{busy_category}?sort=oldest", status=422),
    get("home-bad-cursor", "/", "/?after=x", status=400),
    get("thread-short", THREAD_PAGE, SHORT),
    get("thread-edited-deleted", THREAD_PAGE, "/threads/{mixed_thread}"),
    get("thread-page-1-of-2", THREAD_PAGE, "/threads/{long_thread}"),
    get("thread-page-2-of-2", THREAD_PAGE, "/threads/{long_thread}?page=2"),
    get("thread-deep-headings", THREAD_PAGE, DEEP),
    get("entities", "/entities"),
    get("entities-employers", "/entities", "/entities?kind=employer"),
    get("entities-programs", "/entities", "/entities?kind=program"),
    get("entities-certifications", "/entities", "/entities?kind=certification"),
    get("entities-by-activity", "/entities", "/entities?sort=activity"),
    get("entities-letter", "/entities", "/entities?kind=employer&letter=N"),
    get("entities-empty-letter", "/entities", "/entities?letter=Q"),
    get("entity", ENTITY, "/entities/{entity}"),
    get("entity-no-threads", ENTITY, "/entities/{quiet_entity}"),
    get("entity-newest", ENTITY, "/entities/{entity}?sort=newest"),
    get("about", "/about"),
    # Search (a GET form; the query is the reader's own and never cached).
    get("search", "/search"),
    get("search-results", "/search", "/search?q=interview"),
    get("search-results-page-2", "/search", "/search?q=interview&sort=newest&page=2"),
    get("search-nothing-found", "/search", "/search?q=zyzzyva"),
    get("search-role", "/search", "/search?q=interview&role=consulting&has_survey=true"),
    get("search-has-interview", "/search", "/search?q=interview&has_interview=true"),
    get("search-bad-filter", "/search", "/search?q=interview&has_survey=maybe", status=422),
    get("search-bad-query", "/search", "/search?q=%22unclosed", status=400),
    get("search-unknown-entity", "/search", "/search?q=interview&entity=Nobody", status=422),
    get("stats", "/stats"),
    get("stats-methodology", "/stats/methodology"),
    # Starting a thread.
    get("new-thread", "/new"),
    post("new-thread-errors", "/new", "/new", {"title": "Hi", **PUBLISH}, 422),
    post("new-thread-unknown-entity", "/new", "/new", UNKNOWN_ENTITY, 422),
    post("new-thread-new-entity-kind", "/new", "/new", NEW_ENTITY, 422),
    post("new-thread-unknown-role", "/new", "/new", {**THREAD, "role_tags": "x", **PUBLISH}, 422),
    post("new-thread-role-preview", "/new", "/new", {**THREAD, "role_tags": "other", **PREVIEW}),
    post("new-thread-preview", "/new", "/new", {**THREAD, "body": RICH_BODY, **PREVIEW}),
    post("new-thread-form-expired", "/new", "/new", EXPIRED, 422),
    post("new-thread-identifying-details", "/new", "/new", {**IDENTIFYING, **PREVIEW}),
    post("new-thread-unconfirmed-details", "/new", "/new", {**IDENTIFYING, **PUBLISH}, 422),
    post("key-page-thread", "/new", "/new", {**THREAD, **PUBLISH}, 201),
    post("key-page-held", "/new", "/new", CONFIRMED, 201),
    post("key-page-new-entity", "/new", "/new", {**NEW_ENTITY, "entity_kind": "employer"}, 201),
    get("entity-pending", ENTITY, "/entities/nobody-inc"),
    # Replying.
    get("reply", REPLY, SHORT_REPLY),
    post("reply-errors", REPLY, SHORT_REPLY, {"body": "", **PUBLISH}, 422),
    post("reply-wrong-author-key", REPLY, SHORT_REPLY, WRONG_AUTHOR_KEY, 422),
    post("reply-preview", REPLY, SHORT_REPLY, {"body": RICH_BODY, **PREVIEW}),
    post("key-page-reply", REPLY, SHORT_REPLY, THANKS, 201),
    post("key-page-scheduled", REPLY, SHORT_REPLY, LATER, 201),
    # Editing and deleting with the edit key.
    get("manage", MANAGE, "/posts/{short_post}/manage"),
    post("manage-wrong-key", EDIT, EDIT_OPENING, {"edit_key": NO_KEY}, 403),
    post("edit-opening-post", EDIT, EDIT_OPENING, WITH_KEY),
    post("edit-reply", EDIT, EDIT_A_REPLY, WITH_REPLY_KEY),
    post("edit-errors", EDIT, EDIT_OPENING, {**WITH_KEY, "title": "Hi", "body": ""}, 422),
    post("edit-preview", EDIT, EDIT_OPENING, {**WITH_KEY, "body": RICH_BODY, **PREVIEW}),
    post("delete-confirm", DELETE, "/posts/{reply_post}/delete", WITH_REPLY_KEY),
    # The author's own posts that nobody else sees yet.
    get("manage-held-post", MANAGE, "/posts/{held_post}/manage"),
    post("edit-held-post", EDIT, "/posts/{held_post}/edit", {"edit_key": "{held_key}"}),
    post("edit-saved-scheduled", EDIT, EDIT_SCHEDULED, {**WITH_SCHEDULED_KEY, **CHANGED}),
    post("deleted-unpublished", DELETE, DELETE_SCHEDULED, {**WITH_SCHEDULED_KEY, **SURE}),
    # Personas: logged out, then logged in (the persona stage's states run in this order).
    get("personas", "/personas"),
    post("personas-errors", "/personas/new", "/personas/new", BAD_PERSONA, 422),
    post("persona-created", "/personas/new", "/personas/new", NEW_PERSONA, stage=AS_PERSONA),
    get("new-thread-as-persona", "/new", stage=AS_PERSONA),
    get("thread-as-persona", THREAD_PAGE, SHORT, stage=AS_PERSONA),
    post("key-page-as-persona", "/new", "/new", {**THREAD, **PUBLISH}, 201, stage=AS_PERSONA),
    get("persona-home", "/personas/me", stage=AS_PERSONA),
    post("persona-passphrase-errors", ME_PASSPHRASE, ME_PASSPHRASE, DIFFER, 422, stage=AS_PERSONA),
    post("persona-passphrase-changed", ME_PASSPHRASE, ME_PASSPHRASE, CHANGE, stage=AS_PERSONA),
    post("persona-delete-errors", ME_DELETE, ME_DELETE, WRONG_DELETE, 401, stage=AS_PERSONA),
    post("persona-logged-out", "/personas/logout", "/personas/logout", {}, stage=AS_PERSONA),
    post("persona-login-errors", LOG_IN, LOG_IN, WRONG_LOGIN, 401, stage=AS_PERSONA),
    post("persona-logged-in", LOG_IN, LOG_IN, LOGIN, stage=AS_PERSONA),
    post("persona-deleted", ME_DELETE, ME_DELETE, DELETE_PERSONA, stage=AS_PERSONA),
    # Outcome surveys: attached to a new post, or tracking a search on their own.
    post("new-thread-survey-errors", "/new", "/new", {**THREAD, **PUBLISH, **HIRED_MISSING}, 422),
    post("key-page-with-survey", "/new", "/new", {**THREAD, **PUBLISH, **SEARCHING}, 201),
    get("survey-track", TRACK),
    post("survey-track-errors", TRACK, TRACK, {**SEARCHING, "survey.search_started": "2025-13"},
         422),
    post("survey-tracked", TRACK, TRACK, SEARCHING, 201),
    get("survey-update", UPDATE),
    post("survey-update-wrong-key", UPDATE, UPDATE, {"edit_key": NO_KEY}, 403),
    post("survey-update-post-form", UPDATE, UPDATE, WITH_KEY),
    post("survey-update-errors", UPDATE, UPDATE, {**WITH_KEY, **HIRED_MISSING}, 422),
    post("survey-updated", UPDATE, UPDATE, {**WITH_KEY, **SEARCHING}),
    # Moderation: readers report and request takedowns; authors answer; the public log.
    get("report", REPORT, REPORT_SHORT),
    post("report-errors", REPORT, REPORT_SHORT, {"note": "No reason chosen"}, 422),
    post("reported", REPORT, REPORT_SHORT, {"reason": "spam", "note": "An advert"}),
    get("takedown", TAKEDOWN, TAKEDOWN_REPLY),
    post("takedown-errors", TAKEDOWN, TAKEDOWN_REPLY, {"organisation": "A", "claim": "No"}, 422),
    post("takedown-received", TAKEDOWN, TAKEDOWN_REPLY, CLAIM),
    get("takedown-answer", ANSWER, ANSWER_REPLY),
    post("takedown-answer-wrong-key", ANSWER, ANSWER_REPLY, {"edit_key": NO_KEY}, 403),
    post("takedown-answer-open", ANSWER, ANSWER_REPLY, WITH_REPLY_KEY),
    post("takedown-answered", ANSWER, ANSWER_REPLY, {**WITH_REPLY_KEY, "response": "It is true."}),
    get("moderation-log-empty", "/moderation/log", stage=Stage.EMPTY),
    get("moderation-log", "/moderation/log"),
    get("moderator-login", MOD_LOGIN),
    post("moderator-login-errors", MOD_LOGIN, MOD_LOGIN, {**MOD, "password": "wrong"}, 401),
    get("moderator-code-logged-out", MOD_CODE),  # (each is sent to the log-in page)
    post("moderator-code-logged-out-post", MOD_CODE, MOD_CODE, WRONG_CODE),
    get("moderator-enrol-logged-out", MOD_ENROL),
    post("moderator-enrol-logged-out-post", MOD_ENROL, MOD_ENROL, WRONG_CODE),
    get("moderation-queue-logged-out", "/moderation/queue"),
    # Moderators (the moderator stage's states run in this order).
    post("moderator-enrol", MOD_LOGIN, MOD_LOGIN, NEW_MOD, stage=AS_MODERATOR),
    post("moderator-enrol-errors", MOD_ENROL, MOD_ENROL, WRONG_CODE, 401, stage=AS_MODERATOR),
    post("moderator-enrolled", MOD_ENROL, MOD_ENROL, {"code": "{new_moderator_code}"},
         stage=AS_MODERATOR),
    post("moderator-logged-out", MOD_LOGOUT, MOD_LOGOUT, {}, stage=AS_MODERATOR),
    post("moderator-password", MOD_LOGIN, MOD_LOGIN, MOD, stage=AS_MODERATOR),
    get("moderator-code", MOD_CODE, stage=AS_MODERATOR),
    post("moderator-code-errors", MOD_CODE, MOD_CODE, WRONG_CODE, 401, stage=AS_MODERATOR),
    post("moderator-logged-in", MOD_CODE, MOD_CODE, {"code": "{moderator_recovery_code}"},
         stage=AS_MODERATOR),
    get("moderation-queue", "/moderation/queue", stage=AS_MODERATOR),
    get("moderation-review-held", REVIEW, "/moderation/posts/{held_post}", stage=AS_MODERATOR),
    get("moderation-review-takedown", REVIEW, "/moderation/posts/{reply_post}",
        stage=AS_MODERATOR),
    get("moderation-review-reported", REVIEW, "/moderation/posts/{short_post}",
        stage=AS_MODERATOR),
    post("moderation-action-errors", ACT, ACT_SHORT, {**HIDE, "reason": ""}, 422,
         stage=AS_MODERATOR),
    post("moderation-hidden", ACT, ACT_SHORT, HIDE, stage=AS_MODERATOR),
    get("moderation-entity", ENTITY_REVIEW, "/moderation/entities/{entity}", stage=AS_MODERATOR),
    get("moderation-entity-pending", ENTITY_REVIEW, "/moderation/entities/nobody-inc",
        stage=AS_MODERATOR),
    post("moderation-entity-errors", ENTITY_ACT, "/moderation/entities/nobody-inc/actions",
         {"action": "merge", "reason": "Duplicate", "into": "Nobody"}, 422, stage=AS_MODERATOR),
    post("moderation-thread-locked", LOCK, "/moderation/threads/{short_thread}/actions",
         {"action": "lock", "reason": "Settled", "post_id": "{short_post}"}, stage=AS_MODERATOR),
    get("moderator-account", "/moderation/account", stage=AS_MODERATOR),
    post("moderator-new-codes-errors", NEW_CODES, NEW_CODES, WRONG_CODE, 401,
         stage=AS_MODERATOR),
    post("moderator-new-codes", NEW_CODES, NEW_CODES, {"code": "{moderator_code}"},
         stage=AS_MODERATOR),
    get("moderation-log-with-actions", "/moderation/log", stage=AS_MODERATOR),
    post("moderator-logged-out-everywhere", EVERYWHERE, EVERYWHERE, {}, stage=AS_MODERATOR),
    # Errors, and the demo site.
    get("not-found-thread", THREAD_PAGE, "/threads/nosuchthread", 404),
    get("not-found-path", None, "/no/such/page", 404),
    get("bad-parameter", THREAD_PAGE, SHORT + "?page=0", 422),
    get("home-demo", "/", stage=Stage.DEMO),
    # Rate limits met: in a form (what was typed is kept), and as an error page.
    post("key-page-before-the-limit", "/new", "/new", {**THREAD, **PUBLISH}, 201,
         stage=Stage.LIMITED),
    post("new-thread-rate-limited", "/new", "/new", {**THREAD, **PUBLISH}, 429,
         stage=Stage.LIMITED),
    post("manage-before-the-limit", EDIT, EDIT_OPENING, {"edit_key": NO_KEY}, 403,
         stage=Stage.LIMITED),
    post("rate-limited-error-page", EDIT, EDIT_OPENING, {"edit_key": NO_KEY}, 429,
         stage=Stage.LIMITED),
    post("server-error", "/new", "/new", {**THREAD, **PUBLISH}, 500, stage=Stage.BROKEN),
]
# fmt: on

# Routes hidden from the OpenAPI schema that do not answer HTML, and what they answer.
NOT_PAGES: dict[str, str] = {
    "/healthz": "JSON liveness probe",
    "/metrics": "Prometheus text format, for configured addresses only",
    "/feed.atom": "the newest threads as an Atom feed",
    "/c/{slug:str}/feed.atom": "a category's newest threads as an Atom feed",
    "/entities/{slug:str}/feed.atom": "an entity's newest threads as an Atom feed",
    "/threads/{thread_id:str}/feed.atom": "a thread's posts as an Atom feed",
    "/sitemap.xml": "the sitemap (or a sitemap index) as XML",
    "/sitemaps/pages.xml": "part of the sitemap index: home, categories, entities",
    "/sitemaps/threads/{prefix:str}": "part of the sitemap index: threads by id prefix",
    "/robots.txt": "crawler rules, plain text",
    "/moderation/log.atom": "the public moderation log as an Atom feed",
    "/readyz": "JSON readiness probe (503 naming what is not ready)",
    "/static/{file_path:path}": "static files: CSS and icons",
    "/edit-key.txt": "the edit key as a plain-text download",
    "/stats.csv": "the published figures as CSV",
}


# -- which routes are pages ----------------------------------------------------------


def html_routes(app: Litestar) -> set[tuple[str, str]]:
    """(method, route template) of every route that answers an HTML page: hidden from
    the OpenAPI schema, not the schema itself, not listed in ``NOT_PAGES``."""
    schema_path = app.openapi_config.path if app.openapi_config else "/schema"
    routes = set()
    for route in app.routes:
        if route.path in NOT_PAGES or route.path.startswith(schema_path):
            continue
        for handler in getattr(route, "route_handlers", ()):
            if handler.resolve_include_in_schema():
                continue
            routes |= {(method, route.path) for method in handler.http_methods - {"OPTIONS"}}
    return routes


def line_to_add(method: str, route: str) -> str:
    """The STATES entry that would cover a route, for the failure message."""
    words = [word for word in re.sub(r"\{[^}]*\}", "", route).split("/") if word]
    name = "-".join(words) or "home"
    address = re.sub(r"\{(\w+)(:\w+)?\}", r"{\1}", route)
    if method != "GET":
        return f'post("{name}", "{route}", "{address}", {{"field": "value"}}),'
    if address == route:
        return f'get("{name}", "{route}"),'
    return f'get("{name}", "{route}", "{address}"),'


# -- seeding ---------------------------------------------------------------------------

SURVEYS = 1000  # enough outcome surveys for figures above the disclosure threshold


@dataclass(frozen=True)
class Seeded:
    """What the seeded database holds, by the names addresses and forms use."""

    busy_category: str  # more threads than one page shows
    category_cursor: str  # `after` for its second page
    short_thread: str  # about an entity, a few replies under pseudonyms and as OP
    short_post: str  # its opening post
    short_key: str
    reply_post: str  # a reply in it
    reply_key: str
    held_post: str  # a reply in it held for review (identifying details)
    held_key: str
    scheduled_post: str  # a reply in it to be published later
    scheduled_key: str
    mixed_thread: str  # a normal, an edited and a deleted post
    long_thread: str  # two pages of posts
    deep_thread: str  # a post whose Markdown headings skip levels
    entity: str  # an entity with threads
    quiet_entity: str  # one without


def _api(client: TestClient, method: str, path: str, body: dict | None = None, key=None):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    response = client.request(method, path, json=body, headers=headers)
    assert response.is_success, (
        f"seeding: {method} {path} answered {response.status_code}: {response.text}"
    )
    return response.json()


def _thread(client: TestClient, category: str, title: str, body: str, **extra) -> dict:
    data = {"title": title, "category": category, "body": body, **extra}
    return _api(client, "POST", "/api/v1/threads", data)


def _reply(client: TestClient, thread_id: str, body: str, **extra) -> dict:
    return _api(client, "POST", f"/api/v1/threads/{thread_id}/posts", {"body": body, **extra})


def _mixed_thread(client: TestClient) -> str:
    """A thread with a normal opening post, an edited reply and a deleted one."""
    thread = _thread(client, "coaching", "A coaching program, one year on", "It was fine.")
    edited = _reply(client, thread["thread"]["id"], "First version.")
    deleted = _reply(client, thread["thread"]["id"], "Something I regret.")
    edit = {"body": "Second version."}
    _api(client, "PATCH", f"/api/v1/posts/{edited['post']['id']}", edit, edited["edit_key"])
    _api(client, "DELETE", f"/api/v1/posts/{deleted['post']['id']}", key=deleted["edit_key"])
    return thread["thread"]["id"]


def _long_thread(client: TestClient) -> str:
    """A thread with one post more than a page holds."""
    thread = _thread(client, "getting-started", "Keeping board certification", "Worth it?")
    for number in range(POSTS_PER_PAGE):
        _reply(client, thread["thread"]["id"], f"Reply number {number + 1}.")
    return thread["thread"]["id"]


def _busy_category(client: TestClient, slug: str) -> str:
    """Fill a category past its first page; returns the cursor of the second."""
    for number in range(THREADS_PER_PAGE + 1):
        _thread(client, slug, f"Interview report number {number + 1}", "Two rounds, no case.")
    return _api(client, "GET", f"/api/v1/threads?category={slug}")["next"]


async def _entities_surveys_and_statistics(min_cell: int) -> None:
    """What has no API to be made through: entities, outcome surveys, the statistics."""
    await ensure_entities()
    await seed_surveys(SURVEYS)
    await Statistics(k=min_cell).rebuild()


def seed(client: TestClient) -> Seeded:
    """Fill the database through the JSON API, but for what has none (seeded directly)."""
    min_cell = client.app.state["settings"].stats_min_cell
    client.blocking_portal.call(_entities_surveys_and_statistics, min_cell)
    entities = _api(client, "GET", "/api/v1/entities")
    about, quiet = entities[0], entities[-1]
    title = "Six months as a physician advisor"
    short = _thread(client, "employers", title, RICH_BODY, entity=about["name"])
    short_id = short["thread"]["id"]
    reply = _reply(client, short_id, "Same here, the hours are *real*.")
    _reply(client, short_id, "An update from me.", author_key=short["edit_key"])
    held = _reply(client, short_id, WITH_EMAIL, confirm_identifying_details=True)
    scheduled = _reply(client, short_id, "Posted later.", delay_publication=True)
    deep = _thread(client, "off-topic", "Small headings only", "### A small heading\n\nText.")
    return Seeded(
        busy_category="interviews",
        category_cursor=_busy_category(client, "interviews"),
        short_thread=short_id,
        short_post=short["post"]["id"],
        short_key=short["edit_key"],
        reply_post=reply["post"]["id"],
        reply_key=reply["edit_key"],
        held_post=held["post"]["id"],
        held_key=held["edit_key"],
        scheduled_post=scheduled["post"]["id"],
        scheduled_key=scheduled["edit_key"],
        mixed_thread=_mixed_thread(client),
        long_thread=_long_thread(client),
        deep_thread=deep["thread"]["id"],
        entity=about["slug"],
        quiet_entity=quiet["slug"],
    )


# -- fetching ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CapturedPage:
    """A page state as the app answered it."""

    state: PageState
    url: str  # where the browser shows it: seeded fields filled in, redirects followed
    status: int
    headers: Mapping[str, str]
    html: str


def page_settings(database_url: str, data_dir: Path) -> Settings:
    """Settings for fetching pages as the tests do: no rate limits, forms sent at once."""
    return Settings(
        database_url=database_url,
        data_dir=data_dir,
        secret_key=TEST_SECRET,
        rate_limits="off",
        form_min_seconds=0,
    )


@contextlib.contextmanager
def page_client(
    settings: Settings, *, demo: bool = False, limited: bool = False
) -> Iterator[TestClient]:
    """The app on ``settings``' database, spoken to over HTTP like a browser would."""
    changes: dict = {"demo": demo}
    if limited:  # one new thread (without proof-of-work) and one key attempt
        changes["rate_limits"] = "thread=2/3600,edit_key=1/600"
    app = create_app(settings.model_copy(update=changes))
    with TestClient(app, base_url=ORIGIN, raise_server_exceptions=False) as client:
        client.headers["Origin"] = ORIGIN
        yield client


def capture(client: TestClient, state: PageState, fields: Mapping[str, str]) -> CapturedPage:
    """Fetch one state as a browser would: a form goes with a fresh form token, and a
    redirect is followed (the page is then shown at the address redirected to)."""
    url = state.url.format_map(fields)
    if state.method == "GET":
        response = client.get(url)
    else:
        form = {name: value.format_map(fields) for name, value in state.form.items()}
        response = submit(client, url, form)
    shown_at = response.url.raw_path.decode()
    return CapturedPage(
        state, shown_at, response.status_code, dict(response.headers), response.text
    )


def collect_pages(settings: Settings, states: list[PageState] = STATES) -> dict[str, CapturedPage]:
    """Every state's page, by name. Seeds ``settings``' database, then breaks it."""
    pages: dict[str, CapturedPage] = {}
    fields: dict[str, str] = {}
    for stage in Stage:
        with page_client(
            settings, demo=stage is Stage.DEMO, limited=stage is Stage.LIMITED
        ) as client:
            if stage is Stage.SEEDED:
                fields = asdict(seed(client))
            if stage is Stage.MODERATOR:
                fields |= judging.moderator_fields(client, settings)
            if stage is Stage.BROKEN:
                drop_table(settings, "forum_post_revision")
            for state in states:
                if state.stage is stage:
                    pages[state.name] = capture(client, state, fields)
    return pages
