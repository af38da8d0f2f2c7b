"""Fixtures for operations tests: empty databases to restore into, the CLI run as an
operator runs it, and what a database holds, read through the app's own tables."""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from offramp import db
from offramp.config import Settings
from offramp.ops.backup import table_fingerprints

from ..conftest import TEST_SECRET, Backend, pg_execute, run_async
from ..judges.servers import server_environment


@pytest.fixture
def empty_database_url(backend: Backend, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Makes URLs of new, empty databases (no tables at all) on the test's engine."""
    made: list[str] = []

    def make() -> str:
        if backend.name == "sqlite":
            url = f"sqlite:///{tmp_path / f'empty-{secrets.token_hex(4)}.sqlite3'}"
        else:
            name = f"offramp_r_{secrets.token_hex(6)}"
            run_async(pg_execute(backend.admin_url, f'CREATE DATABASE "{name}"'))
            url = urlunsplit(urlsplit(backend.admin_url)._replace(path=f"/{name}"))
        made.append(url)
        return url

    yield make
    for url in made:
        backend.drop(url)


def offramp_cli(
    settings: Settings, *args: str, timeout_s: float = 300
) -> subprocess.CompletedProcess:
    """``offramp ARGS`` in a subprocess configured by ``settings`` (OFFRAMP_* only)."""
    return subprocess.run(
        [sys.executable, "-m", "offramp", *args],
        env=server_environment(settings),
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


def settings_for(url: str, data_dir: Path) -> Settings:
    return Settings(database_url=url, data_dir=data_dir, secret_key=TEST_SECRET)


async def _read(url: str, data_dir: Path, work):
    settings = settings_for(url, data_dir)
    engine = db.bind(settings)
    await db.open_pool(engine, settings)
    try:
        return await work()
    finally:
        await db.close_pool(engine)


def fingerprints_of(url: str, data_dir: Path) -> dict[str, tuple[int, str]]:
    """(row count, content digest) of every table of the database at ``url``."""
    return run_async(_read(url, data_dir, table_fingerprints))


def rows_of(url: str, data_dir: Path, table) -> dict[str, dict]:
    """Every row of ``table`` in the database at ``url``, by primary key."""

    async def read() -> dict[str, dict]:
        return {row["id"]: row for row in await table.select()}

    return run_async(_read(url, data_dir, read))
