"""The web layer's shared parts: templates, static files, security headers,
cross-site form protection, error responses and the anonymous page cache."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import secrets
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from litestar import Request, Response
from litestar.datastructures import MutableScopeHeaders
from litestar.exceptions import HTTPException, ValidationException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.static_files import create_static_files_router
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.stores.memory import MemoryStore
from litestar.template.config import TemplateConfig
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from offramp.config import Settings
from offramp.errors import OfframpError

log = logging.getLogger("offramp")


def frontend_dir() -> Path:
    """``frontend/`` inside the installed wheel, or beside ``server/`` in a checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "frontend", here.parent.parent / "frontend"):
        if (candidate / "templates").is_dir():
            return candidate
    raise RuntimeError("frontend/ (templates and static files) is missing from the install")


# -- templates and static files ------------------------------------------------


def _day(value: date) -> str:
    return value.strftime("%-d %b %Y")


def template_config(
    settings: Settings, form_token: Callable[[], str], static: StaticFiles
) -> TemplateConfig:
    def setup(engine: JinjaTemplateEngine) -> None:
        env = engine.engine
        env.globals["demo"] = settings.demo
        env.globals["static_url"] = static.url
        env.globals["form_token"] = form_token
        env.globals["proof_of_work"] = settings.proof_of_work
        env.filters["day"] = _day
        env.trim_blocks = True
        env.lstrip_blocks = True

    return TemplateConfig(
        directory=frontend_dir() / "templates",
        engine=JinjaTemplateEngine,
        engine_callback=setup,
    )


STATIC_PREFIX = "/static/"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE_HOURLY = "public, max-age=3600"


class StaticFiles:
    """Static files under fingerprinted URLs: ``/static/css/site.css?v=HASH``, HASH being
    the first 12 hex digits of the file's SHA-256. Templates build every static URL
    with ``static_url(name)``; a changed file gets a new URL, so its old one can be
    cached forever. The query form (rather than a hash in the file name) lets the
    proxy serve the file straight from disk (``try_files $uri``) and mark it immutable
    when ``v`` is present (``deploy/nginx/nginx.conf``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        # Every file, hashed once at start-up (they ship inside the wheel and do not
        # change under a running process); nothing a request names is ever added.
        self.fingerprints = {
            path.relative_to(directory).as_posix(): _sha256_prefix(path)
            for path in sorted(directory.rglob("*"))
            if path.is_file()
        }

    def url(self, name: str) -> str:
        try:
            return f"{STATIC_PREFIX}{name}?v={self.fingerprints[name]}"
        except KeyError:
            raise RuntimeError(f"static_url: no file {name!r} in {self.directory}") from None

    def router(self):
        return create_static_files_router(
            path=STATIC_PREFIX.rstrip("/"),
            directories=[self.directory],
            name="static",
            include_in_schema=False,
        )

    async def cache_headers(self, message: Message, scope: Scope) -> None:
        """``before_send``: a file asked for under its current fingerprint is immutable
        for a year; any other static URL (no ``v``, an old one) is revalidated hourly."""
        if message["type"] != "http.response.start" or message["status"] != 200:
            return
        path = scope.get("path", "")
        if not path.startswith(STATIC_PREFIX):
            return
        asked = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("v", [""])[0]
        current = self.fingerprints.get(path.removeprefix(STATIC_PREFIX))
        headers = MutableScopeHeaders.from_message(message)
        headers["cache-control"] = IMMUTABLE if asked and asked == current else REVALIDATE_HOURLY


def _sha256_prefix(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def page(template: str, status_code: int = 200, personal: bool = False, **context: Any) -> Template:
    """A rendered page. ``personal`` pages (keys, forms echoing input) are never stored."""
    headers = {"Cache-Control": "no-store"} if personal else None
    return Template(
        template_name=template,
        context=context,
        status_code=status_code,
        headers=headers,
        media_type="text/html",
    )


# -- security headers -----------------------------------------------------------

SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


async def add_security_headers(message: Message, _scope: Scope) -> None:
    """SPEC §3.7's headers on every response: pages, API, static files, and the
    errors Litestar raises before any route or middleware runs (unknown paths)."""
    if message["type"] == "http.response.start":
        headers = MutableScopeHeaders.from_message(message)
        for name, value in SECURITY_HEADERS.items():
            headers[name] = value
        if "cache-control" not in headers:
            headers["cache-control"] = "no-cache"


# -- cross-site request forgery ---------------------------------------------------

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def cross_site_reason(request: Request) -> str | None:
    """Why an HTML form submission must be refused as cross-site, or None.

    Pages carry no per-reader token (so anonymous pages can be cached whole);
    instead every form POST must show it came from our own pages: browsers send
    ``Sec-Fetch-Site`` (or at least ``Origin``) and a page elsewhere cannot forge
    either. The JSON API is exempt: it takes no cookies and only JSON bodies.
    """
    if request.method in SAFE_METHODS or request.url.path.startswith("/api/"):
        return None
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return None if fetch_site in ("same-origin", "none") else "it came from another site"
    origin = request.headers.get("origin")
    if origin is None:
        return "the browser did not say where it came from (no Origin header)"
    host = request.headers.get("host", "")
    if origin.split("://", 1)[-1] != host:
        return "it came from another site"
    return None


async def _plain_response(send: Send, status: int, text: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": text.encode()})


class CrossSiteFormGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request: Request = Request(scope)
            reason = cross_site_reason(request)
            if reason:
                await _plain_response(
                    send, 403, f"Form refused: {reason}. Submit forms from this site's pages."
                )
                return
        await self.app(scope, receive, send)


# -- errors -------------------------------------------------------------------------

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
}


def _wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith(("/api/", "/schema")) or path.endswith(".json")


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    headers = {"cache-control": "no-store", **(headers or {})}
    if _wants_json(request):
        return Response(
            content={"error": {"code": code, "message": message, "field": field}},
            status_code=status,
            headers=headers,
        )
    template = page(
        "error.html",
        status_code=status,
        personal=True,
        status=status,
        message=message,
        field=field,
    )
    template.headers.update(headers)
    return template


def handle_offramp_error(request: Request, exc: OfframpError) -> Response:
    retry_after = getattr(exc, "retry_after_s", None)
    headers = {"retry-after": str(retry_after)} if retry_after else None
    return error_response(request, exc.status_code, exc.code, exc.message, exc.field, headers)


def handle_validation_error(request: Request, exc: ValidationException) -> Response:
    """Litestar's parameter and body validation: name the field and what is allowed."""
    extra = exc.extra if isinstance(exc.extra, list) else []
    first = extra[0] if extra and isinstance(extra[0], dict) else {}
    field = first.get("key") or None
    if field and first.get("source") == "path":
        # An address whose ids cannot even be read (control characters) names nothing.
        return error_response(request, 404, "not_found", "Nothing lives at this address.", field)
    if field:
        message = f"{field}: {first.get('message', 'is not valid')}"
        return error_response(request, 422, "invalid", message, str(field))
    detail = str(exc.detail or "The request could not be read.")
    return error_response(request, 400, "bad_request", detail, None)


def handle_http_error(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    if status >= 500:
        return handle_internal_error(request, exc)
    code = _HTTP_CODES.get(status, "error")
    message = {
        404: "Nothing lives at this address.",
        405: f"{request.method} is not allowed here.",
        413: "The request is too large.",
    }.get(status, str(exc.detail))
    # Keep the headers Litestar attaches, e.g. the `Allow` a 405 must carry (RFC 9110).
    return error_response(request, status, code, message, None, exc.headers)


def handle_bad_encoding(request: Request, _exc: UnicodeDecodeError) -> Response:
    return error_response(request, 400, "bad_encoding", "The request body is not valid UTF-8.")


def handle_internal_error(request: Request, exc: Exception) -> Response:
    # Log what failed, never who asked: no address, headers or query string.
    log.error(
        "internal error on %s %s",
        request.method,
        request.scope.get("route_handler") and request.scope["route_handler"].paths,
        exc_info=exc,
    )
    return error_response(
        request,
        HTTP_500_INTERNAL_SERVER_ERROR,
        "internal_error",
        "Something went wrong on our side. Nothing you sent was half-saved: try again.",
    )


EXCEPTION_HANDLERS = {
    OfframpError: handle_offramp_error,
    ValidationException: handle_validation_error,
    HTTPException: handle_http_error,
    UnicodeDecodeError: handle_bad_encoding,
    Exception: handle_internal_error,
}


# -- anonymous page cache -------------------------------------------------------------


class ContentGeneration:
    """A token that every successful write changes. Cached pages are keyed by it, so a
    write makes every cached page stale at once, in every worker: the token lives in a
    small file in the data directory that all workers on the machine read (a read costs
    microseconds). A worker that sees a new token drops its cached pages, so memory
    holds only pages rendered since the last write."""

    def __init__(self, store: MemoryStore | None = None, path: Path | None = None) -> None:
        self.store = store
        self.path = path
        self._local = 0
        self._seen: str | None = None
        self._clearing: set[asyncio.Task] = set()

    def current(self) -> str:
        if self.path is None:
            return str(self._local)
        try:
            token = self.path.read_text()
        except FileNotFoundError:
            token = "0"
        if token != self._seen:
            self._seen = token
            self._drop_cached_pages()
        return token

    async def bump(self) -> None:
        self._local += 1
        if self.path is not None:
            token = f"{os.getpid()}.{time.time_ns()}.{secrets.token_hex(4)}"
            temporary = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}")
            temporary.write_text(token)
            os.replace(temporary, self.path)  # atomic: readers see the old or the new
        if self.store is not None:
            await self.store.delete_all()

    def _drop_cached_pages(self) -> None:
        if self.store is None:
            return
        try:
            task = asyncio.get_running_loop().create_task(self.store.delete_all())
        except RuntimeError:  # no event loop (start-up): nothing cached yet
            return
        self._clearing.add(task)
        task.add_done_callback(self._clearing.discard)

    def cache_key(self, request: Request) -> str:
        # Litestar asks for the key when it looks up and again when it stores. Fix it
        # at the look-up, so a page rendered from data read before a write is stored
        # under the old generation (where nobody looks) rather than the new one.
        key = request.scope.get("offramp_cache_key")  # type: ignore[typeddict-item]
        if key is None and request.scope.get("persona_token"):
            # A logged-in persona's pages are personal: a key nothing else will match
            # (and the response filter refuses to store them anyway).
            return f"personal:{secrets.token_hex(16)}"
        if key is None:
            key = f"{self.current()}:{request.url.path}?{request.url.query}"
            request.scope["offramp_cache_key"] = key  # type: ignore[typeddict-unknown-key]
        return key


class InvalidateOnWrite:
    """Moves the content generation on after any successful unsafe request."""

    def __init__(self, app: ASGIApp, generation: ContentGeneration) -> None:
        self.app = app
        self.generation = generation

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                await self.generation.bump()
            await send(message)

        await self.app(scope, receive, watch)
