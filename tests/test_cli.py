"""The `offramp` command, run as a user would, and the installable package."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from litestar.testing import TestClient

from offramp.app import create_app
from offramp.config import Settings

from .conftest import run_async

ROOT = Path(__file__).resolve().parent.parent


def offramp(*args: str, settings: Settings) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OFFRAMP_")}
    env |= {
        "OFFRAMP_DATA_DIR": str(settings.data_dir),
        "OFFRAMP_DATABASE_URL": settings.resolved_database_url,
        "OFFRAMP_SECRET_KEY": settings.secret_key or "",
    }
    return subprocess.run(
        [sys.executable, "-m", "offramp", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_migrate_is_idempotent_and_seed_fills_the_forum(settings):
    assert offramp("migrate", settings=settings).returncode == 0
    seeded = offramp("seed", "--threads", "40", "--replies-per-thread", "3", settings=settings)
    assert seeded.returncode == 0, seeded.stderr
    assert seeded.stdout.startswith("created 40 threads, ")
    with TestClient(create_app(settings)) as client:
        listing = client.get("/api/v1/threads", params={"limit": 100}).json()
        assert len(listing["threads"]) == 40
        assert sum(t["reply_count"] for t in listing["threads"]) > 40
        entities = client.get("/api/v1/entities").json()
        assert {e["kind"] for e in entities} == {"employer", "program", "certification"}
        thread = client.get(listing["threads"][0]["url"])
        assert thread.status_code == 200


def test_the_app_refuses_an_unmigrated_database(tmp_path):
    settings = Settings(data_dir=tmp_path, secret_key="s" * 40)
    with pytest.raises(BaseException) as failure, TestClient(create_app(settings)):
        pass
    error = failure.value
    while isinstance(error, BaseExceptionGroup):  # raised from the lifespan task group
        error = error.exceptions[0]
    assert isinstance(error, RuntimeError) and "run `offramp migrate`" in str(error)


def test_a_configuration_error_is_one_clear_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OFFRAMP_")}
    env |= {"OFFRAMP_ENV": "production", "OFFRAMP_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "offramp", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "OFFRAMP_SECRET_KEY" in done.stderr and "Traceback" not in done.stderr


def test_seeded_data_is_clearly_synthetic_and_stored_to_the_hour(settings):
    from offramp.db import bind, close_pool, open_pool
    from offramp.forum.seed import seed_forum
    from offramp.forum.tables import Post

    async def run():
        engine = bind(settings)
        await open_pool(engine, settings)
        try:
            made = await seed_forum(10, 2)
            times = await Post.select(Post.created_at)
            return made, times
        finally:
            await close_pool(engine)

    made, times = run_async(run())
    assert made["threads"] == 10 and made["posts"] == len(times)
    assert all(row["created_at"].minute == 0 for row in times)


@pytest.mark.skipif(
    not os.environ.get("CI") and not os.environ.get("OFFRAMP_TEST_WHEEL"),
    reason="builds a wheel (slow): runs under CI or with OFFRAMP_TEST_WHEEL=1",
)
def test_the_wheel_ships_templates_static_files_and_migrations(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        timeout=300,
    )
    wheel = next(tmp_path.glob("offramp-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in [
        "offramp/frontend/templates/base.html",
        "offramp/frontend/static/css/site.css",
        "offramp/forum/piccolo_migrations/forum_0001_initial.py",
        "offramp/cli.py",
    ]:
        assert expected in names, expected


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop is not installed on Windows")
def test_serve_runs_on_uvloop_so_every_connection_has_nagle_off():
    """With several workers asyncio left Nagle's algorithm on for every connection,
    which delayed each response body by the client's delayed ACK (about 40 ms);
    uvloop sets TCP_NODELAY itself (docs/benchmarks.md, the event-loop finding)."""
    from offramp.cli import event_loop

    assert event_loop() == "uvloop"
