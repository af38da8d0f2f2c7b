"""Search filters over HTTP: the API's parameters and the search page's fields."""

from __future__ import annotations

from litestar.testing import TestClient

from ..forum.test_api import assert_error, start_thread


def test_role_filter_in_the_api_and_on_the_page(client: TestClient):
    tagged = start_thread(client, body="The zebrafish study.", role_tags=["clinical_development"])
    start_thread(client, body="Another zebrafish study.")
    api = client.get("/api/v1/search", params={"q": "zebrafish", "role": "clinical_development"})
    assert [r["post_id"] for r in api.json()["results"]] == [tagged["post"]["id"]]
    bad = client.get("/api/v1/search", params={"q": "zebrafish", "role": "astronaut"})
    assert_error(bad, 422, field="role")
    page = client.get("/search", params={"q": "zebrafish", "role": "clinical_development"})
    assert page.status_code == 200
    assert page.text.count('class="thread-title"') == 1
    assert '<option value="clinical_development" selected>' in page.text
    wrong = client.get("/search", params={"q": "zebrafish", "role": "astronaut"})
    assert wrong.status_code == 422 and 'href="#search-role"' in wrong.text
