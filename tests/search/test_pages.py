"""The search page and the header search box, over real HTTP, without JavaScript."""

from __future__ import annotations

import re

from litestar.testing import TestClient

from .conftest import seed_entities
from .test_api import thread


def test_every_page_has_a_search_box_in_its_header(client: TestClient):
    made = thread(client, "A thread to look at", "Some text.")
    for path in ["/", "/about", "/entities", "/c/coaching", f"/threads/{made['thread']['id']}"]:
        html = client.get(path).text
        form = re.search(r'<form class="site-search" method="get" action="/search"[^>]*>', html)
        assert form and 'role="search"' in form.group(0), path
        assert '<label for="site-search-q"' in html and 'name="q"' in html


def test_the_empty_search_page_explains_the_syntax(client: TestClient):
    response = client.get("/search")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert '<form class="search-form" method="get" action="/search"' in response.text
    assert "<code>-word</code>" in response.text
    for label in ("search-q", "search-category", "search-entity", "search-from", "search-to"):
        assert f'<label for="{label}">' in response.text


def test_results_show_title_passage_category_entity_and_day(client: TestClient):
    seed_entities(client)
    made = thread(
        client,
        "Panel at Northbridge",
        'A <script>alert("x")</script> panel, then "><img src=x onerror=alert(1)> panel again.',
        entity="NBUR",
    )
    response = client.get("/search", params={"q": "panel", "entity": "Northbridge UR"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    html = response.text
    url = f"/threads/{made['thread']['id']}#p1"
    assert f'href="{url}"><mark>Panel</mark> at Northbridge</a>' in html
    passage = re.search(r'<p class="passage">(.*?)</p>', html, re.S).group(1)
    assert set(re.findall(r"</?([a-zA-Z]+)", passage)) == {"mark"}, passage
    assert "<mark>panel</mark>" in passage
    assert '<a href="/c/coaching">Coaching, courses &amp; boards</a>' in html
    assert '<a href="/entities/northbridge-utilization-review">' in html
    assert f'<time datetime="{made["post"]["created"]}">' in html
    assert 'value="panel"' in html  # the form keeps the search


def test_bad_searches_show_the_form_again_with_the_reason(client: TestClient):
    response = client.get("/search", params={"q": '"unclosed', "sort": "newest"})
    assert response.status_code == 400
    assert response.headers["cache-control"] == "no-store"
    assert "A quotation mark is not closed." in response.text
    assert 'aria-invalid="true"' in response.text
    assert 'value="&#34;unclosed"' in response.text
    assert '<option value="newest" selected>' in response.text

    seed_entities(client)
    unknown = client.get("/search", params={"q": "panel", "entity": "Pivot"})
    assert unknown.status_code == 422
    assert "Did you mean" in unknown.text
    assert ">Physician Pivot Accelerator</a>" in unknown.text
    assert client.get("/search", params={"q": "x", "page": "0"}).status_code == 422


def test_results_are_paged(client: TestClient):
    for number in range(21):
        thread(client, f"Ocelot report {number + 1}", "About an ocelot.")
    first = client.get("/search", params={"q": "ocelot", "sort": "newest"}).text
    assert first.count('class="thread-item"') == 20
    assert 'href="/search?q=ocelot&amp;sort=newest&amp;page=2" rel="next"' in first
    second = client.get("/search", params={"q": "ocelot", "sort": "newest", "page": 2}).text
    assert second.count('class="thread-item"') == 1
    assert 'href="/search?q=ocelot&amp;sort=newest" rel="prev"' in second


def test_held_posts_never_show(client: TestClient):
    made = thread(client, "Public thread", "Nothing to see.")
    held = client.post(
        f"/api/v1/threads/{made['thread']['id']}/posts",
        json={
            "body": "The iguana: mail me at jane.doe@example.com",
            "confirm_identifying_details": True,
        },
    )
    assert held.json()["post"]["status"] == "held"
    html = client.get("/search", params={"q": "iguana"}).text
    assert "Nothing found" in html and "jane.doe" not in html
