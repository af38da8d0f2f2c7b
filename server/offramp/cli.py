"""The ``offramp`` command: serve, demo, migrate, seed, stats, moderator."""

from __future__ import annotations

import argparse
import asyncio
import functools
import importlib.util
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from offramp import db
from offramp.config import ConfigurationError, Settings

DEMO_THREADS = 400
DEMO_REPLIES = 4
DEMO_SURVEYS = 3000


def _run_with_database(settings: Settings, work: Callable[[], Awaitable[object]]) -> object:
    engine = db.bind(settings)

    async def run() -> object:
        await db.open_pool(engine, settings)
        try:
            return await work()
        finally:
            await db.close_pool(engine)

    return asyncio.run(run())


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> None:
    _run_with_database(settings, db.migrate)
    print("database is up to date")


def cmd_backup(settings: Settings, args: argparse.Namespace) -> None:
    from offramp.ops.backup import BackupError, backup

    try:
        print(backup(settings, args.path).describe())
    except BackupError as exc:
        sys.exit(f"offramp: {exc}")


def cmd_restore(settings: Settings, args: argparse.Namespace) -> None:
    from offramp.ops.backup import BackupError, restore, table_fingerprints

    try:
        done = restore(settings, args.path, force=args.force)
    except BackupError as exc:
        sys.exit(f"offramp: {exc}")
    tables = _run_with_database(settings, table_fingerprints)
    rows = sum(count for count, _digest in tables.values())  # type: ignore[attr-defined]
    print(f"{done.describe()}: {len(tables)} tables, {rows} rows")  # type: ignore[arg-type]


def cmd_seed(settings: Settings, args: argparse.Namespace) -> None:
    from offramp.forum.seed import seed_forum
    from offramp.search.service import SearchIndex
    from offramp.surveys.seed import seed_surveys

    async def work() -> dict:
        await db.migrate()
        made = await seed_forum(args.threads, args.replies_per_thread, seed=args.seed)
        made["surveys"] = await seed_surveys(args.surveys, seed=args.seed) if args.surveys else 0
        # Seeding bypasses the forum service and its listeners; the index is built after,
        # in key order as the forum's own writes would have left it.
        await SearchIndex().reindex(cluster=True)
        return made

    made = _run_with_database(settings, work)
    print(  # type: ignore[index]
        f"created {made['threads']} threads, {made['posts']} posts and {made['surveys']} surveys"
    )


def cmd_search_reindex(settings: Settings, args: argparse.Namespace) -> None:
    from offramp.search.service import SearchIndex

    count = _run_with_database(settings, functools.partial(SearchIndex().reindex, args.cluster))
    print(f"search index rebuilt: {count} posts can be found")


def cmd_stats_rebuild(settings: Settings, _args: argparse.Namespace) -> None:
    from offramp.stats.service import Statistics

    async def work() -> dict:
        return await Statistics(k=settings.stats_min_cell).rebuild()

    result = _run_with_database(settings, work)
    print(  # type: ignore[index]
        f"statistics rebuilt from {result['surveys_used']} surveys "
        f"({result['held_out']} held out) in {result['seconds']} s"
    )


def read_password(stdin=sys.stdin) -> str:
    """A new password: typed twice (not shown) on a terminal, else one line of stdin."""
    import getpass

    if not stdin.isatty():
        return stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password (15 or more characters recommended): ")
    if getpass.getpass("The same password again: ") != first:
        sys.exit("offramp: the two passwords differ; nothing was changed")
    return first


def cmd_moderator(settings: Settings, args: argparse.Namespace) -> None:
    from offramp.errors import OfframpError
    from offramp.moderation.accounts import Moderators, check_password, password_advice

    moderators = Moderators(secret=settings.with_secret_key().key)
    if args.moderator_command == "add":
        password = read_password()
        try:
            check_password(password)
        except OfframpError as exc:
            sys.exit(f"offramp: {exc.message}")
        if advice := password_advice(password):
            print(f"note: {advice}", file=sys.stderr)
        work = functools.partial(moderators.add, args.handle, password, args.role)
        done = f"moderator {args.handle} added ({args.role}); they set up TOTP at first log-in"
    elif args.moderator_command == "reset-totp":
        work = functools.partial(moderators.reset_second_factor, args.handle)
        done = (
            f"moderator {args.handle}: authenticator and recovery codes removed, sessions "
            "ended; they enrol a new authenticator at their next log-in"
        )
    else:
        work = functools.partial(moderators.disable, args.handle)
        done = f"moderator {args.handle} disabled; their sessions have ended"
    try:
        _run_with_database(settings, work)
    except OfframpError as exc:
        sys.exit(f"offramp: {exc.message}")
    print(done)


def event_loop() -> str:
    """uvloop where it is installed (everywhere but Windows), asyncio elsewhere.

    With more than one worker uvicorn binds the listening socket itself, without naming
    TCP as its protocol, and asyncio sets TCP_NODELAY only on sockets that name it. A
    response is written as two segments (head, then body), so Nagle's algorithm held
    every body until the client acknowledged the head: about 40 ms of delayed
    acknowledgement on each request (hello world with 2 workers: p50 44 ms, 1,400 req/s;
    with uvloop, which sets TCP_NODELAY on every TCP connection: p50 7 ms, 7,700 req/s).
    """
    return "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"


def serve(settings: Settings, host: str, port: int, workers: int) -> None:
    import uvicorn

    from offramp.ops.logs import logging_config

    # Workers are separate processes that read OFFRAMP_* themselves: hand them the
    # settings this command settled on (the demo's data directory, for instance).
    for name, value in settings.model_dump(exclude_none=True, exclude={"secret_key"}).items():
        os.environ[f"OFFRAMP_{name.upper()}"] = str(
            value.value if hasattr(value, "value") else value
        )
    uvicorn.run(
        "offramp.asgi:app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop=event_loop(),
        http="h11",  # the parser every test runs against, whatever else is installed
        access_log=False,  # SPEC §3.2: no client addresses in logs
        log_config=logging_config(),  # JSON lines, one scrubbed path (offramp.ops.logs)
        proxy_headers=False,  # X-Forwarded-For is not trusted by default
        server_header=False,
        log_level="info",
        timeout_graceful_shutdown=20,
    )


def cmd_serve(settings: Settings, args: argparse.Namespace) -> None:
    if not args.no_migrate:
        _run_with_database(settings, db.migrate)
    serve(settings, args.host, args.port, args.workers)


def cmd_demo(settings: Settings, args: argparse.Namespace) -> None:
    from offramp.forum.seed import seed_forum
    from offramp.forum.tables import Thread
    from offramp.search.service import SearchIndex
    from offramp.stats.service import Statistics
    from offramp.surveys.seed import seed_interview_reports, seed_surveys

    demo_settings = settings.model_copy(
        update={
            "demo": True,
            "data_dir": settings.data_dir / "demo",
            "database_url": None,
            "secret_key": None,
        }
    ).with_secret_key()

    async def work() -> None:
        await db.migrate()
        if not await Thread.count():
            await seed_forum(DEMO_THREADS, DEMO_REPLIES, seed=args.seed)
            await SearchIndex().reindex()
            await seed_surveys(DEMO_SURVEYS, seed=args.seed)
            await seed_interview_reports()
            await Statistics(k=demo_settings.stats_min_cell).rebuild()

    _run_with_database(demo_settings, work)
    print(f"Demo forum with synthetic data: http://{args.host}:{args.port}/")
    serve(demo_settings, args.host, args.port, 1)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="offramp", description="Anonymous forum with honest outcome statistics."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve_cmd = commands.add_parser("serve", help="run the web server")
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=8000)
    serve_cmd.add_argument("--workers", type=int, default=1)
    serve_cmd.add_argument(
        "--no-migrate",
        action="store_true",
        help="do not apply pending migrations first (when a separate job runs them)",
    )
    serve_cmd.set_defaults(handler=cmd_serve)

    demo_cmd = commands.add_parser(
        "demo",
        help="serve a forum filled with synthetic demo data (SQLite in DATA_DIR/demo)",
    )
    demo_cmd.add_argument("--host", default="127.0.0.1")
    demo_cmd.add_argument("--port", type=int, default=8000)
    demo_cmd.add_argument("--seed", type=int, default=7, help="random seed for the data")
    demo_cmd.set_defaults(handler=cmd_demo)

    migrate_cmd = commands.add_parser("migrate", help="apply pending database migrations")
    migrate_cmd.set_defaults(handler=cmd_migrate)

    backup_cmd = commands.add_parser(
        "backup", help="write a consistent backup of the database to PATH (safe while serving)"
    )
    backup_cmd.add_argument("path", type=Path)
    backup_cmd.set_defaults(handler=cmd_backup)

    restore_cmd = commands.add_parser(
        "restore", help="restore a backup from PATH into the configured, empty database"
    )
    restore_cmd.add_argument("path", type=Path)
    restore_cmd.add_argument(
        "--force", action="store_true", help="replace what the database holds (stop the app first)"
    )
    restore_cmd.set_defaults(handler=cmd_restore)

    seed_cmd = commands.add_parser("seed", help="bulk-generate synthetic threads and posts")
    seed_cmd.add_argument("--threads", type=int, default=1000)
    seed_cmd.add_argument("--replies-per-thread", type=int, default=5)
    seed_cmd.add_argument("--seed", type=int, default=7, help="random seed for the data")
    seed_cmd.add_argument("--surveys", type=int, default=0, help="synthetic outcome surveys")
    seed_cmd.set_defaults(handler=cmd_seed)

    search_cmd = commands.add_parser("search", help="the full-text search index")
    search_commands = search_cmd.add_subparsers(dest="search_command", required=True)
    reindex_cmd = search_commands.add_parser(
        "reindex", help="rebuild the search index from the forum (searches keep working)"
    )
    reindex_cmd.add_argument(
        "--cluster",
        action="store_true",
        help="PostgreSQL: then store the index in search order (CLUSTER); faster searches "
        "on a large forum, but searches and new posts wait while it runs (docs/search.md)",
    )
    reindex_cmd.set_defaults(handler=cmd_search_reindex)

    stats_cmd = commands.add_parser("stats", help="published statistics")
    stats_commands = stats_cmd.add_subparsers(dest="stats_command", required=True)
    rebuild_cmd = stats_commands.add_parser(
        "rebuild", help="recompute every published figure from the surveys now"
    )
    rebuild_cmd.set_defaults(handler=cmd_stats_rebuild)

    moderator_cmd = commands.add_parser("moderator", help="moderator accounts")
    moderator_commands = moderator_cmd.add_subparsers(dest="moderator_command", required=True)
    add_cmd = moderator_commands.add_parser(
        "add", help="add a moderator (password prompted twice, or one line of stdin)"
    )
    add_cmd.add_argument("handle")
    add_cmd.add_argument("--role", choices=["moderator", "admin"], default="moderator")
    disable_cmd = moderator_commands.add_parser(
        "disable", help="disable a moderator and end their sessions"
    )
    disable_cmd.add_argument("handle")
    reset_cmd = moderator_commands.add_parser(
        "reset-totp",
        help="remove a moderator's authenticator and recovery codes (lost both); they "
        "enrol anew at their next log-in",
    )
    reset_cmd.add_argument("handle")
    moderator_cmd.set_defaults(handler=cmd_moderator)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.load()
    except (ConfigurationError, ValueError) as exc:
        sys.exit(f"offramp: configuration error: {exc}")
    args.handler(settings, args)


if __name__ == "__main__":
    main()
