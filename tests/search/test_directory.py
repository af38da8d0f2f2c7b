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


def test_the_directory_shows_published_survey_counts_under_the_k_rule(client: TestClient, settings):
    from datetime import timedelta

    from offramp.ids import this_hour
    from offramp.stats.service import Statistics
    from offramp.surveys.tables import Survey

    from ..surveys.test_surveys import SEARCHING

    seed_entities(client)
    for program, count in (("WCEA", 12), ("Physician Pivot Accelerator", 3)):
        for _ in range(count):
            sent = client.post(
                "/api/v1/surveys",
                json={
                    **SEARCHING,
                    "programs": [{"entity": program}],
                    "conflict_of_interest": "none",
                },
            )
            assert sent.status_code == 201, sent.text
    before = client.get("/entities?kind=program&sort=activity").text
    assert '<td class="num">12</td>' not in before  # nothing published before a rebuild
    # Arrived over past weeks, not in a burst (which would hold them out).
    month_ago = this_hour() - timedelta(days=30)
    client.blocking_portal.call(
        lambda: Survey.update({Survey.created_at: month_ago}, force=True).run()
    )
    client.blocking_portal.call(Statistics(k=settings.stats_min_cell).rebuild)
    page = client.get("/entities?kind=program").text
    rows = dict(
        re.findall(
            r'<td><a href="/entities/([^"]+)">.*?</td>\s*<td>[^<]*</td>\s*<td class="num">\d+</td>'
            r'\s*<td class="num">([^<]*)</td>',
            page,
            re.S,
        )
    )
    assert rows["white-coat-exit-academy"] == "12"
    assert rows["physician-pivot-accelerator"] == "fewer than 11"
