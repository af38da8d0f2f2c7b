"""The entity directory: an A–Z index, orderings, and what each row shows."""

from __future__ import annotations

import re

from litestar.testing import TestClient

from offramp.forum.schemas import EntityRead
from offramp.search.directory import OTHER, directory, initial

from .conftest import seed_entities
from .test_api import thread


def entity(name: str, threads: int = 0) -> EntityRead:
    slug = name.lower().replace(" ", "-")
    return EntityRead(
        slug=slug,
        name=name,
        kind="employer",
        url=f"/entities/{slug}",
        website="",
        description="",
        aliases=[],
        status="approved",
        thread_count=threads,
    )


def test_initials_ignore_case_and_accents():
    assert [initial(n) for n in ["Élan Health", "acme", "3M", "Ωmega", ""]] == [
        "E",
        "A",
        OTHER,
        OTHER,
        OTHER,
    ]


def test_letters_filter_and_orders():
    names = [entity("beta", 1), entity("Alpha", 5), entity("Élan", 5), entity("apex", 0)]
    listing = directory(names, None, None)
    assert [e.name for e in listing.entities] == ["Alpha", "apex", "beta", "Élan"]
    assert dict(listing.letters)["A"] == 2 and dict(listing.letters)["E"] == 1
    assert listing.sort == "name" and listing.total == 4
    busiest = directory(names, None, "activity")
    assert [e.name for e in busiest.entities] == ["Alpha", "Élan", "beta", "apex"]
    only_a = directory(names, "a", "activity")
    assert (only_a.letter, [e.name for e in only_a.entities]) == ("A", ["Alpha", "apex"])
    assert directory(names, "\x00", "nonsense") == listing  # unknown: all, A to Z


def test_the_directory_page_has_an_index_and_orders(client: TestClient):
    seed_entities(client)
    thread(client, "About a program", "Text.", entity="WCEA")
    page = client.get("/entities?sort=activity").text
    rows = re.findall(r'<td><a href="/entities/([^"]+)">', page)
    assert rows[0] == "white-coat-exit-academy" and len(rows) == 12
    assert '<a href="/entities?sort=activity" aria-current="page">Most threads</a>' in page
    assert '<a href="/entities?letter=N&amp;sort=activity">N' in page
    assert '<span class="none">Q<span class="visually-hidden"> (none)</span></span>' in page
    letter = client.get("/entities?letter=n&kind=employer").text
    assert re.findall(r'<td><a href="/entities/([^"]+)">', letter) == [
        "northbridge-utilization-review"
    ]
    assert "(Northbridge UR, NBUR)" in letter
    assert "1 of 6 shown." in letter
