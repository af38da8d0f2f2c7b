"""Personas through the JSON API: create, log in and out, the persona's own view, and
writing as the persona (posts managed without their edit keys)."""

from __future__ import annotations

from litestar.testing import TestClient

from ..conftest import ORIGIN

PASSPHRASE = "correct horse battery staple"


def anonymous(client: TestClient, method: str, url: str, **kwargs):
    """The same app, without the persona's cookie."""
    headers = {**kwargs.pop("headers", {}), "Cookie": ""}
    return client.request(method, url, headers=headers, **kwargs)


def test_a_persona_through_the_api(client: TestClient):
    created = client.post("/api/v1/personas", json={"handle": "api-doc", "passphrase": PASSPHRASE})
    assert created.status_code == 201, created.text
    assert created.json() == {"handle": "api-doc", "posts": []}
    assert "HttpOnly" in created.headers["set-cookie"]
    assert created.headers["cache-control"] == "no-store"

    thread = client.post(
        "/api/v1/threads",
        json={"title": "Written as a persona", "category": "getting-started", "body": "Hello."},
    ).json()
    post_id = thread["post"]["id"]
    assert "api-doc" not in str(thread)  # the public sees only the thread's pseudonym
    mine = client.get("/api/v1/personas/me").json()
    assert [post["id"] for post in mine["posts"]] == [post_id]

    # The persona edits and deletes without the key; nobody else can.
    edited = client.patch(f"/api/v1/posts/{post_id}", json={"body": "Hello, edited."})
    assert edited.status_code == 200, edited.text
    stranger = anonymous(client, "PATCH", f"/api/v1/posts/{post_id}", json={"body": "Mine now"})
    assert stranger.status_code == 401
    assert anonymous(client, "GET", "/api/v1/personas/me").status_code == 401

    logged_out = client.delete("/api/v1/personas/session")
    assert logged_out.status_code == 200 and "Max-Age=0" in logged_out.headers["set-cookie"]
    assert client.get("/api/v1/personas/me").status_code == 401
    refused = client.patch(f"/api/v1/posts/{post_id}", json={"body": "Not any more."})
    assert refused.status_code == 401

    wrong = client.post(
        "/api/v1/personas/session", json={"handle": "api-doc", "passphrase": "x" * 20}
    )
    assert wrong.status_code == 401 and wrong.json()["error"]["field"] == "passphrase"
    back = client.post(
        "/api/v1/personas/session", json={"handle": "API-DOC", "passphrase": PASSPHRASE}
    )
    assert back.status_code == 200 and back.json()["posts"][0]["id"] == post_id
    deleted = client.delete(f"/api/v1/posts/{post_id}")
    assert deleted.status_code == 200, deleted.text


def test_persona_input_is_checked(client: TestClient):
    short = client.post("/api/v1/personas", json={"handle": "ab", "passphrase": PASSPHRASE})
    assert short.status_code == 422 and short.json()["error"]["field"] == "handle"
    weak = client.post("/api/v1/personas", json={"handle": "someone", "passphrase": "short"})
    assert weak.status_code == 422 and weak.json()["error"]["field"] == "passphrase"
    client.post("/api/v1/personas", json={"handle": "taken-one", "passphrase": PASSPHRASE})
    again = anonymous(
        client, "POST", "/api/v1/personas", json={"handle": "Taken-One", "passphrase": PASSPHRASE}
    )
    assert again.status_code == 409 and again.json()["error"]["field"] == "handle"
    form = anonymous(
        client,
        "POST",
        "/api/v1/personas",
        data={"handle": "formy", "passphrase": PASSPHRASE},
        headers={"Origin": ORIGIN},
    )
    assert form.status_code in (403, 415)  # JSON only: no cross-site form can log anyone in


def test_surveys_started_through_the_api_belong_to_the_persona(client: TestClient):
    from ..surveys.test_surveys import SEARCHING

    client.post("/api/v1/personas", json={"handle": "tracker", "passphrase": PASSPHRASE})
    started = client.post("/api/v1/surveys", json=SEARCHING)
    assert started.status_code == 201, started.text
    survey_id = started.json()["survey"]["id"]
    # Readable by the persona without the survey's key, by nobody else.
    assert client.get(f"/api/v1/surveys/{survey_id}").status_code == 200
    assert anonymous(client, "GET", f"/api/v1/surveys/{survey_id}").status_code == 401
