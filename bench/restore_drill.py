"""The restore drill: back up a live, busy Offramp and prove the backup restores.

1. A fresh database (PostgreSQL on the local server, or a SQLite file) is seeded with
   synthetic threads, replies and surveys, and served by ``offramp serve``.
2. Writers keep starting threads and replying through the API; meanwhile
   ``offramp backup`` runs. Then the writes stop and the server shuts down.
3. ``offramp restore`` puts that backup into a new, empty database. Every post
   acknowledged before the backup began must be there, unchanged, and every
   thread's posts must be whole (no write cut in half).
4. A second backup of the now quiet database is restored the same way, and every
   table's row count and content digest must equal the original's.

Run from the repository root (figures go to docs/operations.md):

    python bench/restore_drill.py --engine postgres --threads 5000 --surveys 3000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.judges.servers import running_server, server_environment  # noqa: E402
from tests.ops.writers import Writers  # noqa: E402

from offramp import db  # noqa: E402
from offramp.config import Settings  # noqa: E402
from offramp.forum.tables import Post, Thread  # noqa: E402
from offramp.ops.backup import table_fingerprints  # noqa: E402

ADMIN_URL = os.environ.get(
    "OFFRAMP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def new_database(engine: str, workdir: Path, label: str) -> str:
    if engine == "sqlite":
        return f"sqlite:///{workdir / f'{label}.sqlite3'}"
    name = f"offramp_drill_{label}_{secrets.token_hex(3)}"
    subprocess.run(["createdb", "--maintenance-db", ADMIN_URL, name], check=True)
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_database(url: str) -> None:
    if url.startswith("postgresql://"):
        name = url.rsplit("/", 1)[1]
        subprocess.run(
            ["dropdb", "--maintenance-db", ADMIN_URL, "--force", "--if-exists", name], check=True
        )


def offramp(settings: Settings, *args: str) -> tuple[str, float]:
    """Run ``offramp ARGS``; return its output and how long it took."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "offramp", *args],
        env=server_environment(settings),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.exit(f"offramp {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout.strip(), time.monotonic() - started


async def _read(settings: Settings, work):
    engine = db.bind(settings)
    await db.open_pool(engine, settings)
    try:
        return await work()
    finally:
        await db.close_pool(engine)


def read(settings: Settings, work):
    return asyncio.run(_read(settings, work))


async def posts_and_threads() -> tuple[dict, dict]:
    posts = {row["id"]: row for row in await Post.select()}
    threads = {row["id"]: row for row in await Thread.select()}
    return posts, threads


def threads_whole(posts: dict, threads: dict) -> bool:
    seqs: dict[str, list[int]] = {}
    for post in posts.values():
        seqs.setdefault(post["thread"], []).append(post["seq"])
    return all(
        sorted(seqs.get(thread_id, [])) == list(range(1, thread["post_count"] + 1))
        for thread_id, thread in threads.items()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--threads", type=int, default=5000)
    parser.add_argument("--replies", type=int, default=5)
    parser.add_argument("--surveys", type=int, default=3000)
    parser.add_argument("--write-seconds", type=float, default=10.0)
    options = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="offramp-drill-"))
    base = Settings(
        data_dir=workdir,
        secret_key=secrets.token_urlsafe(48),
        rate_limits="off",
        proof_of_work=False,
        form_min_seconds=0,
    )
    made: list[str] = []

    def database(label: str) -> Settings:
        made.append(new_database(options.engine, workdir, label))
        return base.model_copy(update={"database_url": made[-1]})

    figures: list[tuple[str, str]] = []
    try:
        live = database("live")
        seeded, seconds = offramp(
            live,
            "seed",
            "--threads",
            str(options.threads),
            "--replies-per-thread",
            str(options.replies),
            "--surveys",
            str(options.surveys),
        )
        figures.append(("seeded", f"{seeded} ({seconds:.1f} s)"))

        busy = workdir / "during-writes.backup"
        with running_server(live, log_path=workdir / "server.log", workers=2) as server:
            writers = Writers(server.url)
            writers.start()
            try:
                time.sleep(options.write_seconds / 2)
                started = time.monotonic()
                written, backup_s = offramp(live, "backup", str(busy))
                finished = time.monotonic()
                time.sleep(options.write_seconds / 2)
            finally:
                writers.stop()
        if writers.failures:
            sys.exit(f"writes failed: {writers.failures[:3]}")
        figures.append(("backup during writes", f"{written}; wall time {backup_s:.1f} s"))
        figures.append(
            (
                "writes acknowledged",
                f"{len(writers.acknowledged)} in {options.write_seconds:.0f} s by "
                f"{writers.writers} clients, {writers.count_between(started, finished)} of them "
                "while `offramp backup` ran",
            )
        )

        restored = database("restored")
        answer, restore_s = offramp(restored, "restore", str(busy))
        figures.append(("restore of that backup", f"{answer}; wall time {restore_s:.1f} s"))
        live_posts, _ = read(live, posts_and_threads)
        got_posts, got_threads = read(restored, posts_and_threads)
        missing = writers.ids_before(started) - set(got_posts)
        changed = [key for key, row in got_posts.items() if row != live_posts.get(key)]
        figures.append(
            (
                "check",
                f"{len(missing)} acknowledged posts missing, {len(changed)} posts differ, "
                f"threads whole: {threads_whole(got_posts, got_threads)}; "
                f"{len(live_posts) - len(got_posts)} posts written after the snapshot",
            )
        )

        quiet = workdir / "quiet.backup"
        written, backup_s = offramp(live, "backup", str(quiet))
        identical = database("identical")
        answer, restore_s = offramp(identical, "restore", str(quiet))
        expected = read(live, table_fingerprints)
        actual = read(identical, table_fingerprints)
        differing = sorted(name for name in expected if expected[name] != actual.get(name))
        rows = sum(count for count, _ in expected.values())
        figures.append(("quiet backup", f"{written}; wall time {backup_s:.1f} s"))
        figures.append(("its restore", f"{answer}; wall time {restore_s:.1f} s"))
        figures.append(
            (
                "row counts and SHA-256 digests",
                f"{len(expected) - len(differing)} of {len(expected)} tables identical "
                f"({rows} rows); differing: {differing or 'none'}",
            )
        )
    finally:
        for url in made:
            drop_database(url)

    print(f"engine: {options.engine}\n")
    print("| step | result |\n| --- | --- |")
    for step, result in figures:
        print(f"| {step} | {result.replace(str(workdir) + '/', '')} |")
    if missing or changed or differing:
        sys.exit("the drill FAILED")


if __name__ == "__main__":
    main()
