"""The JSON API over real HTTP: every operation, its errors, and their body."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from litestar.testing import TestClient


def start_thread(client: TestClient, **overrides) -> dict:
    body = {
        "title": "MSL interview, three rounds",
        "category": "interviews",
        "body": "It went fine.",
        **overrides,
    }
    response = client.post("/api/v1/threads", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def parse_elements(html: str) -> list[tuple[str, dict[str, str]]]:
    """Every element of an HTML fragment with its attributes, as a browser parses it."""
    found: list[tuple[str, dict[str, str]]] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, {name: value or "" for name, value in attrs}))

    Collector().feed(html)
    return found


def assert_error(response, status: int, code: str | None = None, field: str | None = None):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message", "field"}
    assert error["message"]
    if code:
        assert error["code"] == code
    if field:
        assert error["field"] == field
    assert "Traceback" not in response.text


def test_categories_are_the_five_of_the_spec(client: TestClient):
    response = client.get("/api/v1/categories")
    assert response.status_code == 200
    assert [c["name"] for c in response.json()] == [
        "Employers & roles",
        "Interviews",
        "Coaching, courses & boards",
        "Getting started",
        "Off-topic",
    ]


def test_create_read_reply_edit_delete(client: TestClient):
    created = start_thread(client)
    thread_id, key = created["thread"]["id"], created["edit_key"]
    assert created["thread"]["url"] == f"/threads/{thread_id}"

    reply = client.post(f"/api/v1/threads/{thread_id}/posts", json={"body": "Same for me."})
    assert reply.status_code == 201
    reply_key = reply.json()["edit_key"]
    assert reply_key != key

    page = client.get(f"/api/v1/threads/{thread_id}").json()
    assert [p["author"] for p in page["posts"]][0] == "OP"
    assert page["thread"]["reply_count"] == 1

    post_id = reply.json()["post"]["id"]
    edited = client.patch(
        f"/api/v1/posts/{post_id}", json={"body": "Changed."}, headers=bearer(reply_key)
    )
    assert edited.status_code == 200
    assert edited.json()["edited"] is True
    assert client.get(f"/api/v1/posts/{post_id}").json()["body_html"] == "<p>Changed.</p>\n"

    deleted = client.delete(f"/api/v1/posts/{post_id}", headers=bearer(reply_key))
    assert deleted.status_code == 200
    assert deleted.json()["status"] == "deleted"
    again = client.patch(f"/api/v1/posts/{post_id}", json={"body": "x"}, headers=bearer(reply_key))
    assert_error(again, 409, "deleted")


def test_thread_list_filters_and_pages(client: TestClient):
    ids = {start_thread(client, category="coaching")["thread"]["id"] for _ in range(5)}
    start_thread(client, category="employers")
    seen, cursor = [], None
    while True:
        query = {"category": "coaching", "limit": 2} | ({"cursor": cursor} if cursor else {})
        listing = client.get("/api/v1/threads", params=query).json()
        seen += [t["id"] for t in listing["threads"]]
        cursor = listing["next"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids)
    assert_error(client.get("/api/v1/threads", params={"category": "nope"}), 404)
    assert_error(client.get("/api/v1/threads", params={"cursor": "%%%"}), 400, field="cursor")
    assert_error(client.get("/api/v1/threads", params={"limit": 0}), 422, field="limit")


def test_keys_missing_wrong_or_foreign(client: TestClient):
    first, second = start_thread(client), start_thread(client)
    post_id = first["post"]["id"]
    assert_error(client.patch(f"/api/v1/posts/{post_id}", json={"body": "x"}), 401)
    assert_error(
        client.patch(f"/api/v1/posts/{post_id}", json={"body": "x"}, headers=bearer("wrong")),
        403,
        field="edit_key",
    )
    assert_error(
        client.delete(f"/api/v1/posts/{post_id}", headers=bearer(second["edit_key"])),
        403,
    )
    assert_error(client.delete(f"/api/v1/posts/{post_id}", headers=bearer("x" * 5000)), 403)
    assert client.get(f"/api/v1/posts/{post_id}").json()["status"] == "published"


def test_unknown_ids_are_404(client: TestClient):
    assert_error(client.get("/api/v1/threads/doesnotexist"), 404)
    assert_error(client.get("/api/v1/posts/doesnotexist"), 404)
    assert_error(client.post("/api/v1/threads/doesnotexist/posts", json={"body": "x"}), 404)
    assert_error(
        client.patch("/api/v1/posts/doesnotexist", json={"body": "x"}, headers=bearer("k")),
        404,
    )
    assert_error(client.get("/api/v1/entities/nobody"), 404)
    assert_error(client.get("/api/v1/no/such/route"), 404)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "Hi", "category": "interviews", "body": "x"}, "title"),
        ({"title": "x" * 151, "category": "interviews", "body": "x"}, "title"),
        ({"title": "Fine title", "category": "interviews", "body": ""}, "body"),
        ({"title": "Fine title", "category": "interviews", "body": "   "}, "body"),
        (
            {"title": "Fine title", "category": "interviews", "body": "x" * 20_001},
            "body",
        ),
        (
            {"title": "Fine title", "category": "interviews", "body": "nul \x00 byte"},
            "body",
        ),
        ({"title": "Two\nlines", "category": "interviews", "body": "x"}, "title"),
        ({"title": "Fine title", "body": "x"}, "category"),
        (
            {"title": "Fine title", "category": "interviews", "body": "x", "extra": 1},
            "extra",
        ),
    ],
)
def test_invalid_fields_are_named(client: TestClient, body: dict, field: str):
    assert_error(client.post("/api/v1/threads", json=body), 422, "invalid", field)


def test_lone_surrogates_and_invalid_utf8_are_refused_cleanly(client: TestClient):
    escaped = b'{"title": "Fine title", "category": "interviews", "body": "\\ud800"}'
    response = client.post(
        "/api/v1/threads", content=escaped, headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (400, 422)
    assert "error" in response.json()
    broken = b'{"title": "Fine title", "category": "interviews", "body": "\xff\xfe"}'
    response = client.post(
        "/api/v1/threads", content=broken, headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400)


def test_malformed_json_and_wrong_content_type(client: TestClient):
    response = client.post(
        "/api/v1/threads",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert_error(response, 400)
    response = client.post(
        "/api/v1/threads", data={"title": "Form title", "category": "x", "body": "y"}
    )
    assert_error(response, 415)


def test_oversize_body_is_413(client: TestClient):
    huge = {"title": "Fine title", "category": "interviews", "body": "x" * 600_000}
    assert_error(client.post("/api/v1/threads", json=huge), 413)


def test_markdown_is_sanitised(client: TestClient):
    hostile = (
        "<script>alert(1)</script> [click](javascript:alert(1)) "
        "[data](data:text/html;base64,PHNjcmlwdD4=) <img src=x onerror=alert(1)> "
        "![beacon](https://tracker.example/pixel.gif) [fine](https://example.org)"
    )
    html = start_thread(client, body=hostile)["post"]["body_html"]
    elements = parse_elements(html)
    assert {tag for tag, _ in elements} <= {
        "p",
        "a",
    }  # no script, and no remote <img> beacon
    for _tag, attributes in elements:
        assert not any(name.startswith("on") for name in attributes)
        assert not attributes.get("href", "https:").startswith(("javascript", "data"))
    assert (
        "a",
        {"href": "https://example.org", "rel": "nofollow ugc noopener noreferrer"},
    ) in elements


def test_reply_as_op_and_foreign_author_key(client: TestClient):
    first, second = start_thread(client), start_thread(client)
    as_op = client.post(
        f"/api/v1/threads/{first['thread']['id']}/posts",
        json={"body": "me again", "author_key": first["edit_key"]},
    )
    assert as_op.json()["post"]["author"] == "OP"
    foreign = client.post(
        f"/api/v1/threads/{second['thread']['id']}/posts",
        json={"body": "me again", "author_key": first["edit_key"]},
    )
    assert_error(foreign, 403, field="author_key")


def test_responses_carry_no_internal_author_reference(client: TestClient):
    created = start_thread(client)
    text = client.get(f"/api/v1/threads/{created['thread']['id']}").text
    assert "author_ref" not in text and "op_ref" not in text and "key_hash" not in text


def test_preview_renders_and_stores_nothing(client: TestClient):
    response = client.post("/api/v1/preview", json={"body": "**bold**"})
    assert response.json() == {"html": "<p><strong>bold</strong></p>\n", "findings": []}
    assert client.get("/api/v1/threads").json()["threads"] == []


def test_api_sets_no_cookies_and_security_headers(client: TestClient):
    response = client.get("/api/v1/threads")
    assert "set-cookie" not in response.headers
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    created = client.post(
        "/api/v1/threads",
        json={"title": "Key response", "category": "interviews", "body": "x"},
    )
    assert created.headers["cache-control"] == "no-store"


def test_openapi_schema_documents_every_operation_and_error_body(client: TestClient):
    schema = client.get("/schema/openapi.json").json()
    operations = {
        (method.upper(), path) for path, item in schema["paths"].items() for method in item
    }
    assert ("POST", "/api/v1/threads") in operations
    assert ("PATCH", "/api/v1/posts/{post_id}") in operations
    patch = schema["paths"]["/api/v1/posts/{post_id}"]["patch"]
    assert {"401", "403", "404", "422"} <= set(patch["responses"])
    assert "ErrorBody" in str(patch["responses"]["403"])
    assert not any(path.startswith("/threads") for path in schema["paths"])  # pages are not API
