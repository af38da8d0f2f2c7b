"""`offramp seed` leaves the index current; `offramp search reindex` rebuilds it."""

from __future__ import annotations

from litestar.testing import TestClient

from offramp.app import create_app
from offramp.config import Settings
from offramp.search.tables import SearchDocument

from ..test_cli import offramp


def findable(settings: Settings) -> int:
    with TestClient(create_app(settings)) as client:
        return client.get("/api/v1/search", params={"q": "thanks OR coaching"}).json()["total"]


def test_seed_indexes_and_reindex_rebuilds(settings: Settings):
    seeded = offramp("seed", "--threads", "20", "--replies-per-thread", "2", settings=settings)
    assert seeded.returncode == 0, seeded.stderr
    before = findable(settings)
    assert before > 0

    with TestClient(create_app(settings)) as client:  # lose the index behind its back
        client.blocking_portal.call(SearchDocument.delete(force=True).run)
    assert findable(settings) == 0

    rebuilt = offramp("search", "reindex", settings=settings)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert rebuilt.stdout.startswith("search index rebuilt: ")
    assert findable(settings) == before


def test_reindex_cluster_stores_postgres_documents_in_search_order(settings: Settings, backend):
    """A rebuild writes documents in post-id order, which is random; ``--cluster``
    rewrites them in key order, the order searches walk (PostgreSQL's planner
    statistics then see a correlation of 1 between the key and the storage order)."""
    seeded = offramp("seed", "--threads", "30", "--replies-per-thread", "3", settings=settings)
    assert seeded.returncode == 0, seeded.stderr
    before = findable(settings)

    def correlation() -> float | None:
        with TestClient(create_app(settings)) as client:
            rows = client.blocking_portal.call(
                SearchDocument.raw(
                    "SELECT correlation FROM pg_stats"
                    " WHERE tablename = 'search_document' AND attname = 'id'"
                ).run
            )
        return rows[0]["correlation"]

    plain = offramp("search", "reindex", settings=settings)
    assert plain.returncode == 0, plain.stderr
    if backend.name == "postgres":
        assert correlation() < 0.9
    clustered = offramp("search", "reindex", "--cluster", settings=settings)
    assert clustered.returncode == 0, clustered.stderr
    assert findable(settings) == before
    if backend.name == "postgres":
        assert correlation() == 1.0
