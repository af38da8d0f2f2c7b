"""Test fixtures: a fresh, real database per test (SQLite or PostgreSQL), the app,
and Litestar's test client speaking real HTTP to it.

Choose the engine with ``--db sqlite`` (default) or ``--db postgres``; the
PostgreSQL server comes from ``OFFRAMP_TEST_POSTGRES_URL``. Outside CI a missing
URL skips the PostgreSQL run with a visible reason; under CI (``CI`` set) it fails.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from litestar.testing import TestClient

from offramp import db
from offramp.app import create_app
from offramp.config import Settings
from offramp.forum.service import Forum

TEST_SECRET = "test-secret-key-" + "x" * 32
ORIGIN = "http://testserver.local"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=["sqlite", "postgres"],
        default=os.environ.get("OFFRAMP_TEST_DB", "sqlite"),
        help="database engine for the tests (default sqlite)",
    )


def pytest_report_header(config: pytest.Config) -> str:
    return f"offramp database engine: {config.getoption('--db')}"


def running_in_ci() -> bool:
    return bool(os.environ.get("CI"))


@dataclass
class Backend:
    """Makes a fresh, migrated database for each test, quickly."""

    name: str
    workdir: Path
    admin_url: str | None = None
    template: str | None = None

    def fresh_url(self) -> str:
        if self.name == "sqlite":
            path = self.workdir / f"{secrets.token_hex(6)}.sqlite3"
            shutil.copyfile(self.workdir / "template.sqlite3", path)
            return f"sqlite:///{path}"
        name = f"offramp_t_{secrets.token_hex(6)}"
        run_async(
            pg_execute(self.admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        )
        return _with_database(self.admin_url, name)

    def drop(self, url: str) -> None:
        if self.name == "sqlite":
            path = Path(url.removeprefix("sqlite:///"))
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            return
        name = urlsplit(url).path.lstrip("/")
        run_async(pg_execute(self.admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def run_async(coroutine):
    """Run a coroutine to completion from sync code, even while pytest-asyncio's
    loop is running (fixtures may be set up from inside an async test)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def pg_execute(url: str | None, statement: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _migrate(url: str, data_dir: Path) -> None:
    settings = Settings(database_url=url, data_dir=data_dir, secret_key=TEST_SECRET)
    engine = db.bind(settings)
    await db.open_pool(engine, settings)
    try:
        await db.migrate()
    finally:
        await db.close_pool(engine)


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[Backend]:
    workdir = tmp_path_factory.mktemp("databases")
    if request.config.getoption("--db") == "sqlite":
        run_async(_migrate(f"sqlite:///{workdir / 'template.sqlite3'}", workdir))
        yield Backend("sqlite", workdir)
        return
    admin_url = os.environ.get("OFFRAMP_TEST_POSTGRES_URL")
    if not admin_url:
        message = "PostgreSQL tests need OFFRAMP_TEST_POSTGRES_URL (e.g. postgresql://postgres@127.0.0.1:5432/postgres)"
        if running_in_ci():
            pytest.fail(message)
        pytest.skip(message)
    template = f"offramp_tpl_{secrets.token_hex(4)}"
    try:
        run_async(pg_execute(admin_url, f'CREATE DATABASE "{template}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        message = f"PostgreSQL at {admin_url} is unreachable: {exc}"
        if running_in_ci():
            pytest.fail(message)
        pytest.skip(message)
    run_async(_migrate(_with_database(admin_url, template), workdir))
    yield Backend("postgres", workdir, admin_url=admin_url, template=template)
    run_async(pg_execute(admin_url, f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)'))


@pytest.fixture
def settings(backend: Backend, tmp_path: Path) -> Iterator[Settings]:
    url = backend.fresh_url()
    # Tests act faster and more often than people: the limits and the minimum form
    # time are switched off here and switched on by the tests about them.
    yield Settings(
        database_url=url,
        data_dir=tmp_path,
        secret_key=TEST_SECRET,
        rate_limits="off",
        form_min_seconds=0,
    )
    backend.drop(url)


def form_token(client: TestClient) -> str:
    """A fresh signed form token, as a browser gets it with any form page."""
    page = client.get("/new").text
    return re.search(r'name="form_token" value="([^"]+)"', page).group(1)


def submit(client: TestClient, url: str, data: dict, **kwargs):
    """Post a form the way a browser does: with the form's token and an empty honeypot."""
    return client.post(url, data={"form_token": form_token(client), **data}, **kwargs)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """A real HTTP client for the app; form posts carry our own Origin."""
    app = create_app(settings)
    with TestClient(app, base_url=ORIGIN) as test_client:
        test_client.headers["Origin"] = ORIGIN
        yield test_client


@pytest.fixture
async def forum(settings: Settings) -> AsyncIterator[Forum]:
    """The forum service on a fresh database, without HTTP."""
    engine = db.bind(settings)
    await db.open_pool(engine, settings)
    try:
        yield Forum(secret=settings.key)
    finally:
        await db.close_pool(engine)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests last: they are the slowest, and Playwright's sync API keeps an
    event loop running in this thread while its browser is open."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)
