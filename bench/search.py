"""Benchmark search and feeds at scale, on SQLite and on PostgreSQL (issue 9).

For each engine: a fresh database, ``--threads`` synthetic threads with about
``--replies`` replies each (``seed_forum``, as ``offramp seed`` does), the index rebuilt
(``SearchIndex.reindex``), then, in this process, through the services the pages use:

1. **Search latency** for one common word (in roughly a tenth of the posts), two words,
   a phrase, and a rarer word (an entity's name, in titles), sorted by relevance and by
   newest: ``--repeat`` runs each, p50 and p99 in milliseconds. Target: p50 < 30 ms,
   p99 < 150 ms.
2. **The baseline**: the same "newest 20 posts containing the word" with
   ``LIKE '%word%'`` over ``forum_post``, ``--baseline-repeat`` runs.
3. **Feeds**: the site-wide and a category feed, built and rendered (``Feeds`` +
   ``atom``). Run the script at two sizes and compare: the cost should not grow.

Usage::

    /tmp/v/bin/python bench/search.py --threads 100000 --replies 9
    /tmp/v/bin/python bench/search.py --threads 1000 --replies 9 --backends sqlite

PostgreSQL comes from ``OFFRAMP_BENCH_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``); a database is created for the run
and dropped afterwards unless ``--keep``. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import tempfile
import time
from pathlib import Path

import asyncpg

from offramp import db
from offramp.config import Settings
from offramp.feeds.service import Feeds, atom
from offramp.forum.seed import seed_forum
from offramp.forum.tables import Post
from offramp.search.schemas import SearchRequest
from offramp.search.service import SearchIndex

QUERIES = {
    "common word": "waiting",
    "two words": "business experience",
    "phrase": '"lack business experience"',
    "rarer word": "northbridge",
}
SECRET = "bench-secret-" + "x" * 32


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def timed(work, repeat: int) -> tuple[float, float]:
    """p50 and p99 of ``repeat`` runs of ``work()``, in milliseconds."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        await work()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), percentile(samples, 0.99)


async def share_of_posts(word: str) -> float:
    posts = await Post.count()
    rows = await Post.raw(
        "SELECT count(*) AS n FROM forum_post WHERE lower(body_md) LIKE {}", f"%{word}%"
    )
    return rows[0]["n"] / max(posts, 1)


async def like_baseline(word: str) -> None:
    await Post.raw(
        "SELECT id FROM forum_post WHERE status = 'published' AND lower(body_md) LIKE {}"
        " ORDER BY created_at DESC LIMIT 20",
        f"%{word}%",
    )


async def run(settings: Settings, args: argparse.Namespace) -> list[list[str]]:
    engine = db.bind(settings)
    await db.open_pool(engine, settings)
    rows = []
    try:
        index = SearchIndex()
        name = "SQLite" if settings.is_sqlite else "PostgreSQL"
        if args.reuse:
            print(f"{name}: reusing {await Post.count()} posts", flush=True)
        else:
            await db.migrate()
            start = time.perf_counter()
            made = await seed_forum(args.threads, args.replies, seed=11)
            seeded = time.perf_counter() - start
            if not settings.is_sqlite:  # what autovacuum would have done by now
                await Post.raw("ANALYZE")
            start = time.perf_counter()
            documents = await index.reindex(cluster=True)  # as `offramp seed` does
            indexed = time.perf_counter() - start
            print(
                f"{name}: {made['threads']} threads, {made['posts']} posts seeded in "
                f"{seeded:.0f} s; {documents} documents indexed in {indexed:.0f} s",
                flush=True,
            )
        for label, q in QUERIES.items():
            for sort in ("relevance", "newest"):
                request = SearchRequest(q=q, sort=sort)
                p50, p99 = await timed(lambda r=request: index.search(r), args.repeat)
                total = (await index.search(request)).total
                rows.append(
                    [name, f"{label}: `{q}` ({sort})", f"{total}", f"{p50:.1f}", f"{p99:.1f}"]
                )
        word = QUERIES["common word"]
        share = await share_of_posts(word)
        p50, p99 = await timed(lambda: like_baseline(word), args.baseline_repeat)
        rows.append(
            [
                name,
                f"baseline: LIKE '%{word}%' ({share:.0%} of posts)",
                "",
                f"{p50:.1f}",
                f"{p99:.1f}",
            ]
        )
        feeds = Feeds(secret=SECRET.encode())
        for label, build in (
            ("feed: latest", feeds.latest),
            ("feed: category", lambda: feeds.category("coaching")),
        ):

            async def render(build=build) -> None:
                atom(await build(), "https://offramp.example", "offramp.example")

            p50, p99 = await timed(render, args.repeat)
            rows.append([name, label, "", f"{p50:.1f}", f"{p99:.1f}"])
    finally:
        await db.close_pool(engine)
    return rows


async def postgres_database(admin_url: str, statement: str) -> None:
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=100_000)
    parser.add_argument("--replies", type=int, default=9)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--baseline-repeat", type=int, default=5)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument(
        "--reuse",
        metavar="URL",
        help="measure this database, kept by an earlier --keep run, without seeding it",
    )
    args = parser.parse_args()
    admin = os.environ.get(
        "OFFRAMP_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    table = []
    if args.reuse:  # one database, whichever engine its URL names
        workdir = Path(tempfile.mkdtemp(prefix="offramp-bench-search-"))
        settings = Settings(database_url=args.reuse, data_dir=workdir, secret_key=SECRET)
        table += asyncio.run(run(settings, args))
    for backend in [] if args.reuse else args.backends:
        workdir = Path(tempfile.mkdtemp(prefix="offramp-bench-search-"))
        if backend == "sqlite":
            url = f"sqlite:///{workdir / 'bench.sqlite3'}"
        else:
            name = f"offramp_bench_search_{secrets.token_hex(4)}"
            asyncio.run(postgres_database(admin, f'CREATE DATABASE "{name}"'))
            url = admin.rsplit("/", 1)[0] + f"/{name}"
        settings = Settings(database_url=url, data_dir=workdir, secret_key=SECRET)
        try:
            table += asyncio.run(run(settings, args))
        finally:
            if backend == "postgres" and not args.keep:
                asyncio.run(postgres_database(admin, f'DROP DATABASE "{name}" WITH (FORCE)'))
            print(f"{backend}: {url}" + (" (kept)" if args.keep else ""), flush=True)
    print(
        "\n| engine | what | matches ranked | p50 ms | p99 ms |\n| --- | --- | ---: | ---: | ---: |"
    )
    for row in table:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
