"""Thread-list orders through GET /api/v1/threads: every order pages to the end, and
bad orders or cursors are refused naming their field."""

from __future__ import annotations

from litestar.testing import TestClient

from .test_api import assert_error, start_thread


def _walk(client: TestClient, **query) -> list[str]:
    titles, cursor = [], None
    while True:
        params = {**query, "limit": 2} | ({"cursor": cursor} if cursor else {})
        response = client.get("/api/v1/threads", params=params)
        assert response.status_code == 200, response.text
        titles.extend(thread["title"] for thread in response.json()["threads"])
        cursor = response.json()["next"]
        if not cursor:
            return titles


def test_the_api_lists_threads_in_each_order(client: TestClient):
    quiet = start_thread(client, title="Nobody answered this one", category="coaching")
    busy = start_thread(client, title="Everybody answered this one", category="coaching")
    for _ in range(3):
        reply = client.post(
            f"/api/v1/threads/{busy['thread']['id']}/posts", json={"body": "Same here."}
        )
        assert reply.status_code == 201
    start_thread(client, title="Another with no answer", category="coaching")
    assert _walk(client, sort="replies", category="coaching")[0] == busy["thread"]["title"]
    unanswered = _walk(client, sort="unanswered", category="coaching")
    assert sorted(unanswered) == ["Another with no answer", quiet["thread"]["title"]]
    for sort in ("activity", "newest", "replies"):
        assert len(_walk(client, sort=sort, category="coaching")) == 3


def test_bad_orders_and_cursors_name_their_field(client: TestClient):
    for number in range(3):
        start_thread(client, title=f"Thread number {number}")
    assert_error(client.get("/api/v1/threads", params={"sort": "oldest"}), 422, field="sort")
    newest = client.get("/api/v1/threads", params={"sort": "newest", "limit": 1}).json()["next"]
    response = client.get("/api/v1/threads", params={"sort": "replies", "cursor": newest})
    assert_error(response, 400, field="cursor")
    assert "sort=newest" in response.json()["error"]["message"]
