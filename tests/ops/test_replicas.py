"""Read replicas (offramp.ops.replicas) against a real streaming replica of the test
PostgreSQL server: reads of GET requests reach the replica, writes go to the
primary, and a poster sees their new post at once — on another instance too, and
even while the replica has stopped replaying."""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Iterator

import asyncpg
import httpx
import pytest
from litestar.testing import TestClient

from offramp.app import create_app
from offramp.config import Settings

from ..conftest import ORIGIN, Backend
from ..judges.servers import free_port, running_server
from .replica import ReplicaUnavailable, streaming_replica
from .test_proxy import fresh_redis_or_skip

REDIS_URL = os.environ.get(
    "OFFRAMP_TEST_REDIS_URL", f"redis://127.0.0.1:6379/{random.randint(1, 15)}"
)
THREAD = {"title": "Seen at once?", "category": "coaching", "body": "Read your writes."}


@pytest.fixture(scope="module")
def replica_port(backend: Backend) -> Iterator[int]:
    if backend.name != "postgres":
        pytest.skip("read replicas are a PostgreSQL feature")
    port = free_port()
    try:
        with streaming_replica(backend.admin_url, port):
            yield port
    except ReplicaUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))


def with_replica(settings: Settings, port: int, **changes) -> Settings:
    url = settings.resolved_database_url.replace("127.0.0.1:5432", f"127.0.0.1:{port}")
    assert url != settings.resolved_database_url
    wait_until_replicated(url)
    return settings.model_copy(update={"read_replica_urls": url, **changes})


def wait_until_replicated(url: str, timeout_s: float = 60) -> None:
    """The test's fresh database exists on the replica (it streams the CREATE)."""

    async def wait() -> None:
        last = None
        for _ in range(int(timeout_s * 10)):
            try:
                connection = await asyncpg.connect(url)
            except (OSError, asyncpg.PostgresError) as exc:
                last = exc
                await asyncio.sleep(0.1)
                continue
            try:
                assert await connection.fetchval("SELECT pg_is_in_recovery()")
            finally:
                await connection.close()
            return
        raise AssertionError(f"the database never appeared on the replica ({url}): {last!r}")

    asyncio.run(wait())


def replica_reads(client: TestClient) -> int:
    router = client.app.state["replicas"]
    return sum(replica.reads for replica in router.replicas)


def open_client(settings: Settings) -> TestClient:
    client = TestClient(create_app(settings), base_url=ORIGIN)
    client.headers["Origin"] = ORIGIN
    return client


def test_reads_reach_the_replica_and_writes_the_primary(settings: Settings, replica_port: int):
    replicated = with_replica(settings, replica_port, page_cache_seconds=0)
    with open_client(replicated) as client:
        created = client.post("/api/v1/threads", json=THREAD)
        assert created.status_code == 201  # a write: on the primary (a replica refuses)
        before = replica_reads(client)
        for path in ["/", "/api/v1/threads", created.json()["thread"]["url"]]:
            assert client.get(path).status_code == 200
        assert replica_reads(client) > before, "the reads went to the replica"
        listed = client.get("/api/v1/threads").json()["threads"]
        assert [thread["title"] for thread in listed] == [THREAD["title"]]


def test_a_poster_sees_their_post_at_once_on_another_instance(
    settings: Settings, replica_port: int, tmp_path
):
    """The writer is a real ``offramp serve`` process, the reader this process's app:
    two instances that share only PostgreSQL (primary and replica) and Redis."""
    fresh_redis_or_skip()
    replicated = with_replica(settings, replica_port, page_cache_seconds=0, redis_url=REDIS_URL)
    with (
        running_server(replicated, tmp_path / "writer.log") as writer,
        httpx.Client(base_url=writer.url, headers={"Origin": writer.url}) as poster,
        open_client(replicated) as reader,
    ):
        for n in range(5):
            created = poster.post("/api/v1/threads", json={**THREAD, "title": f"Post {n}"})
            assert created.status_code == 201
            thread = created.json()["thread"]
            # Straight away, on the other instance: the page and the list have it.
            assert reader.get(thread["url"]).status_code == 200
            titles = [t["title"] for t in reader.get("/api/v1/threads").json()["threads"]]
            assert f"Post {n}" in titles
        assert replica_reads(reader) > 0


def test_a_lagging_replica_is_not_read_until_it_catches_up(settings: Settings, replica_port: int):
    replicated = with_replica(settings, replica_port, page_cache_seconds=0)
    replica_url = replicated.replica_urls[0]
    with open_client(replicated) as client:
        asyncio.run(_on(replica_url, "SELECT pg_wal_replay_pause()"))
        try:
            created = client.post("/api/v1/threads", json=THREAD)
            assert created.status_code == 201
            before = replica_reads(client)
            thread = client.get(created.json()["thread"]["url"])
            assert thread.status_code == 200, "read from the primary while the replica lags"
            assert replica_reads(client) == before
        finally:
            asyncio.run(_on(replica_url, "SELECT pg_wal_replay_resume()"))
        for _ in range(100):  # caught up: the replica is read again
            client.get("/api/v1/threads")
            if replica_reads(client) > before:
                break
            asyncio.run(asyncio.sleep(0.05))
        assert replica_reads(client) > before


async def _on(url: str, statement: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def test_replicas_need_postgresql(tmp_path):
    with pytest.raises(ValueError, match="read_replica_urls: replicas need a PostgreSQL"):
        Settings(data_dir=tmp_path, read_replica_urls="postgresql://postgres@127.0.0.1:5433/x")
    with pytest.raises(ValueError, match="each URL must start with postgresql://"):
        Settings(
            database_url="postgresql://postgres@127.0.0.1:5432/x",
            read_replica_urls="mysql://nope",
        )
