"""``offramp backup`` while a live server takes writes, and ``offramp restore`` into a
fresh database: nothing acknowledged before the backup is missing, nothing is
half-written, and a backup of a quiet database restores to identical tables (row
counts and a content digest of every table)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from offramp.config import Settings
from offramp.forum.tables import Post, Thread

from ..judges.servers import running_server, without_abuse_limits
from .conftest import fingerprints_of, offramp_cli, rows_of
from .writers import Writers

SEEDED_THREADS = 600  # enough data that a backup takes long enough to overlap writes


def assert_threads_whole(url: str, data_dir: Path) -> None:
    """Every thread's post counter matches its posts: no write was cut in half."""
    threads = rows_of(url, data_dir, Thread)
    posts = rows_of(url, data_dir, Post)
    per_thread: dict[str, list[int]] = {}
    for post in posts.values():
        per_thread.setdefault(post["thread"], []).append(post["seq"])
    for thread_id, thread in threads.items():
        seqs = sorted(per_thread.get(thread_id, []))
        assert seqs == list(range(1, thread["post_count"] + 1)), thread_id
    assert set(per_thread) <= set(threads)


def test_backup_during_writes_restores_whole_and_a_quiet_backup_restores_identical(
    settings: Settings, empty_database_url, tmp_path: Path
):
    seeded = offramp_cli(settings, "seed", "--threads", str(SEEDED_THREADS))
    assert seeded.returncode == 0, seeded.stderr
    live = settings.resolved_database_url
    during = tmp_path / "backups" / "during-writes.backup"
    quiet = tmp_path / "backups" / "quiet.backup"

    # 1. A backup taken while a live server acknowledges writes from several clients.
    serving = without_abuse_limits(settings).model_copy(update={"form_min_seconds": 0})
    with running_server(serving, log_path=tmp_path / "server.log", workers=2) as server:
        writers = Writers(server.url)
        writers.start()
        try:
            writers.wait_for(40)
            started = time.monotonic()
            made = offramp_cli(settings, "backup", str(during))
            finished = time.monotonic()
            writers.wait_for(len(writers.acknowledged) + 20)
        finally:
            writers.stop()
        assert made.returncode == 0, made.stderr
        assert not writers.failures, writers.failures[:3]
        assert writers.count_between(started, finished) > 0, "no write overlapped the backup"
    assert during.stat().st_mode & 0o077 == 0, "a backup must be readable by its owner only"

    restored = empty_database_url()
    answer = offramp_cli(
        settings.model_copy(update={"database_url": restored}), "restore", str(during)
    )
    assert answer.returncode == 0, answer.stderr
    assert "tables" in answer.stdout

    restored_posts = rows_of(restored, tmp_path, Post)
    live_posts = rows_of(live, tmp_path, Post)
    assert writers.ids_before(started) <= set(restored_posts), "an acknowledged write is missing"
    assert len(restored_posts) < len(live_posts), "writes after the backup cannot be in it"
    for post_id, row in restored_posts.items():
        assert row == live_posts[post_id], "a restored post differs from the original"
    assert_threads_whole(restored, tmp_path)
    assert_threads_whole(live, tmp_path)

    # 2. With the writes over, a backup restores to identical tables.
    made = offramp_cli(settings, "backup", str(quiet))
    assert made.returncode == 0, made.stderr
    identical = empty_database_url()
    answer = offramp_cli(
        settings.model_copy(update={"database_url": identical}), "restore", str(quiet)
    )
    assert answer.returncode == 0, answer.stderr
    expected = fingerprints_of(live, tmp_path)
    assert fingerprints_of(identical, tmp_path) == expected
    assert expected["forum_post"][0] == len(live_posts) > 0
    assert expected["forum_post_revision"][0] >= len(live_posts)


def test_restore_refuses_a_database_that_holds_data(settings: Settings, tmp_path: Path):
    backup = tmp_path / "offramp.backup"
    assert offramp_cli(settings, "backup", str(backup)).returncode == 0
    refused = offramp_cli(settings, "restore", str(backup))
    assert refused.returncode != 0
    assert "restore into an empty database" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_restore_refuses_what_is_not_a_backup(settings: Settings, tmp_path: Path):
    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("hello")
    refused = offramp_cli(settings, "restore", str(not_a_backup))
    assert refused.returncode != 0
    assert "neither a SQLite backup nor a pg_dump" in refused.stderr


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_restore_refuses_a_backup_of_the_other_engine(settings: Settings, tmp_path: Path, kind):
    from offramp.ops.backup import PG_DUMP_MAGIC, SQLITE_MAGIC

    other = tmp_path / "other.backup"
    other.write_bytes((SQLITE_MAGIC if kind == "sqlite" else PG_DUMP_MAGIC) + b"\0" * 64)
    refused = offramp_cli(settings, "restore", str(other))
    assert refused.returncode != 0
    if (kind == "sqlite") == settings.is_sqlite:
        assert "is a" not in refused.stderr  # same engine: refused for holding data instead
    else:
        assert f"is a {kind} backup" in refused.stderr
