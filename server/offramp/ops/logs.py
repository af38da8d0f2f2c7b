"""Structured logs without surveillance: one JSON object per line, a random request id
per request, and nothing about who asked.

Every line — ours, uvicorn's, Litestar's — goes through one formatter built on
structlog's ``ProcessorFormatter``, so there is one scrubbed path to the output. Each
request gets a request line when it ends::

    {"event": "request", "request_id": "3f9c0a51d2e4b7a8", "method": "POST",
     "route": "/threads/{thread_id:str}/reply", "status": 201, "duration_ms": 12.4,
     "level": "info", "logger": "offramp.requests", "time": "2026-11-25T14:03:07Z"}

``route`` is the route *template*, never the path asked for (which can hold ids) and
never the query string (which can hold search text). The request id is random, made
here, sent back as ``X-Request-Id`` and bound to every other line logged while the
request runs (an internal error's traceback, for instance), so a reader can quote it
when something failed. Nothing a client sends is logged: no address, user agent,
``X-Forwarded-For``, query string, referrer, cookie, body, edit key or search text —
the request line is built from the method, the route table and the clock only.
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any

import structlog
from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"
NO_ROUTE = "(no route)"
REQUEST_FIELDS = ["method", "route", "status", "duration_ms"]

request_log = logging.getLogger("offramp.requests")

# What every line gets before it is rendered: the request id bound for the running
# request, the level, the logger's name and the time (UTC, to the second).
_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="%Y-%m-%dT%H:%M:%SZ", utc=True, key="time"),
]


def json_formatter() -> logging.Formatter:
    """The formatter for every handler (``logging.config`` calls this factory in each
    process, uvicorn's workers included). It also points structlog's own loggers at
    the standard library, so ``structlog.get_logger()`` lines take the same path."""
    structlog.configure(
        processors=[*_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    return structlog.stdlib.ProcessorFormatter(
        # Only the request line's own fields pass from a record's extras (uvicorn's
        # ``color_message`` and anything a library might attach are dropped).
        foreign_pre_chain=[*_SHARED, structlog.stdlib.ExtraAdder(allow=REQUEST_FIELDS)],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )


def logging_config(level: str = "INFO") -> dict[str, Any]:
    """``logging.config.dictConfig`` for ``offramp serve`` (handed to uvicorn as its
    ``log_config``): JSON lines on stderr for our loggers and uvicorn's, and uvicorn's
    access log switched off at the logger too, in case anything turns it on."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "offramp.ops.logs.json_formatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "": {"handlers": ["stderr"], "level": level},
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
        },
    }


def new_request_id() -> str:
    return secrets.token_hex(8)


class RequestLog:
    """Outermost ASGI layer: a request id for each request (bound for its log lines and
    returned as ``X-Request-Id``) and one request line when the response is done."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        started = time.perf_counter()
        status = 500  # what the client sees if the app fails before answering
        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableScopeHeaders.from_message(message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "route": scope.get("path_template") or NO_ROUTE,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            structlog.contextvars.reset_contextvars(**tokens)
