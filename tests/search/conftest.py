"""Search fixtures: the forum service with the search index listening, on a fresh
database (SQLite or PostgreSQL, as the run chose)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from litestar.testing import TestClient

from offramp import db
from offramp.config import Settings
from offramp.forum.seed import ensure_entities
from offramp.forum.service import Forum
from offramp.search.schemas import SearchRequest, SearchResults
from offramp.search.service import SearchIndex


@dataclass
class Indexed:
    """A forum whose every write is followed by its search index."""

    forum: Forum
    index: SearchIndex

    async def find(self, q: str, **filters) -> SearchResults:
        return await self.index.search(SearchRequest(q=q, **filters))

    async def post_ids(self, q: str, **filters) -> list[str]:
        return [result.post_id for result in (await self.find(q, **filters)).results]


@pytest.fixture
async def indexed(settings: Settings) -> AsyncIterator[Indexed]:
    engine = db.bind(settings)
    await db.open_pool(engine, settings)
    try:
        index = SearchIndex()
        yield Indexed(Forum(secret=settings.key, listeners=(index.changed,)), index)
    finally:
        await db.close_pool(engine)


def seed_entities(client: TestClient) -> None:
    """The synthetic employers, programs and certifications (entities have no API)."""
    client.blocking_portal.call(ensure_entities)
