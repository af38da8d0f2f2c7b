"""``/readyz``: may this instance take traffic?

``/healthz`` (in ``app.py``) says only that the process is alive and does no I/O,
so an orchestrator restarts a process that stopped answering. ``/readyz`` says
whether requests can succeed: the database answers, Redis answers when one is
configured, and every migration this code knows is applied. A proxy or orchestrator
sends traffic elsewhere while it answers 503, without restarting anything.

The answer names each check and what is wrong, never a connection string or a
server's address: the body may be seen from outside.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import cache

from litestar import Response, get
from litestar.handlers import HTTPRouteHandler
from piccolo.apps.migrations.commands.base import BaseMigrationManager
from piccolo.apps.migrations.tables import Migration

log = logging.getLogger("offramp")

CHECK_TIMEOUT_S = 2.0
READY = "ok"


@cache
def known_migrations() -> frozenset[tuple[str, str]]:
    """(app, migration id) of every migration shipped with this code. The files cannot
    change under a running process, so they are read once."""
    finder = BaseMigrationManager()
    known = set()
    for app_module in finder.get_app_modules():
        app_config = app_module.APP_CONFIG
        modules = finder.get_migration_modules(app_config.resolved_migrations_folder_path)
        known |= {(app_config.app_name, migration_id) for migration_id in modules}
    return frozenset(known)


async def applied_migrations() -> set[tuple[str, str]]:
    """(app, migration id) of every migration the database has recorded. One query,
    so it doubles as the check that the database answers."""
    rows = await Migration.select(Migration.app_name, Migration.name)
    return {(row["app_name"], row["name"]) for row in rows}


async def _within_timeout(check: Awaitable[object]) -> object:
    return await asyncio.wait_for(check, CHECK_TIMEOUT_S)


def _failure(exc: BaseException) -> str:
    """A short, safe description: the kind of failure, never its details (they may
    name hosts, users or paths)."""
    if isinstance(exc, TimeoutError):
        return f"no answer within {CHECK_TIMEOUT_S:g} s"
    return f"unreachable ({type(exc).__name__})"


async def check_database() -> dict[str, str]:
    """The database's and the migrations' state, from one query."""
    try:
        applied = await _within_timeout(applied_migrations())
    except Exception as exc:
        log.warning("readiness: the database did not answer (%s)", type(exc).__name__)
        return {"database": _failure(exc), "migrations": "unknown (no database)"}
    pending = known_migrations() - applied  # type: ignore[operator]
    if pending:
        return {"database": READY, "migrations": f"{len(pending)} pending: run `offramp migrate`"}
    return {"database": READY, "migrations": READY}


async def check_redis(ping: Callable[[], Awaitable[bool]]) -> dict[str, str]:
    try:
        answered = await _within_timeout(ping())
    except Exception as exc:
        log.warning("readiness: Redis did not answer (%s)", type(exc).__name__)
        return {"redis": _failure(exc)}
    return {"redis": READY if answered else "did not answer PING"}


def readiness_route(store: object) -> HTTPRouteHandler:
    """The ``/readyz`` handler. ``store`` is the shared short-lived store: when it is
    Redis (it has ``ping``), Redis is part of being ready."""
    ping = getattr(store, "ping", None)

    @get("/readyz", include_in_schema=False, cache=False)
    async def readyz() -> Response[dict]:
        """200 when every check passes; 503 naming each one that does not."""
        checks = await check_database()
        if ping is not None:
            checks |= await check_redis(ping)
        not_ready = {name: state for name, state in checks.items() if state != READY}
        body = {"status": "not ready" if not_ready else "ready", "checks": checks}
        if not_ready:
            body["not_ready"] = not_ready
        return Response(
            body,
            status_code=503 if not_ready else 200,
            headers={"cache-control": "no-store"},
        )

    return readyz
