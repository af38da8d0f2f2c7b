"""Personas through the JSON API: create, log in and out, the persona's own view, and
writing as the persona (posts managed without their edit keys). The API uses no
cookies: the session travels in the X-Persona-Session header."""

from __future__ import annotations

from litestar.testing import TestClient

from offramp.anonymity.personas import token_hash
from offramp.anonymity.tables import PersonaSession

PASSPHRASE = "correct horse battery staple"


def as_persona(session: str) -> dict[str, str]:
    return {"X-Persona-Session": session}


def test_a_persona_through_the_api(client: TestClient):
    created = client.post("/api/v1/personas", json={"handle": "api-doc", "passphrase": PASSPHRASE})
    assert created.status_code == 201, created.text
    body = created.json()
    session = body.pop("session")
    assert body == {"handle": "api-doc", "posts": []}
    assert "set-cookie" not in created.headers and created.headers["cache-control"] == "no-store"
    stored = client.blocking_portal.call(
        lambda: PersonaSession.select(PersonaSession.token_hash).run()
    )
    assert stored == [{"token_hash": token_hash(session)}]  # only its hash is kept

    thread = client.post(
        "/api/v1/threads",
        json={"title": "Written as a persona", "category": "getting-started", "body": "Hello."},
        headers=as_persona(session),
    ).json()
    post_id = thread["post"]["id"]
    assert "api-doc" not in str(thread)  # the public sees only the thread's pseudonym
    mine = client.get("/api/v1/personas/me", headers=as_persona(session)).json()
    assert [post["id"] for post in mine["posts"]] == [post_id]

    # The persona edits without the key; nobody else can.
    edited = client.patch(
        f"/api/v1/posts/{post_id}", json={"body": "Hello, edited."}, headers=as_persona(session)
    )
    assert edited.status_code == 200, edited.text
    stranger = client.patch(f"/api/v1/posts/{post_id}", json={"body": "Mine now"})
    assert stranger.status_code == 401
    assert client.get("/api/v1/personas/me").status_code == 401

    logged_out = client.delete("/api/v1/personas/session", headers=as_persona(session))
    assert logged_out.status_code == 200 and logged_out.json() == {"logged_out": True}
    ended = client.get("/api/v1/personas/me", headers=as_persona(session))
    assert ended.status_code == 401 and ended.json()["error"]["field"] == "X-Persona-Session"
    refused = client.patch(
        f"/api/v1/posts/{post_id}", json={"body": "Not any more."}, headers=as_persona(session)
    )
    assert refused.status_code == 401  # an ended session is refused, not ignored

    wrong = client.post(
        "/api/v1/personas/session", json={"handle": "api-doc", "passphrase": "x" * 20}
    )
    assert wrong.status_code == 401 and wrong.json()["error"]["field"] == "passphrase"
    back = client.post(
        "/api/v1/personas/session", json={"handle": "API-DOC", "passphrase": PASSPHRASE}
    )
    assert back.status_code == 200 and back.json()["posts"][0]["id"] == post_id
    deleted = client.delete(f"/api/v1/posts/{post_id}", headers=as_persona(back.json()["session"]))
    assert deleted.status_code == 200, deleted.text


def test_the_pages_cookie_does_not_act_in_the_api(client: TestClient):
    """A persona logged in on the pages (a cookie) is nobody to the API."""
    from .test_personas import PASSPHRASE as PAGE_PASSPHRASE

    made = client.post(
        "/personas/new",
        data={
            "handle": "cookie-only",
            "passphrase": PAGE_PASSPHRASE,
            "passphrase_again": PAGE_PASSPHRASE,
        },
        follow_redirects=False,
    )
    assert made.status_code == 303 and "set-cookie" in made.headers
    assert client.get("/api/v1/personas/me").status_code == 401
    thread = client.post(
        "/api/v1/threads",
        json={"title": "Sent with a cookie", "category": "getting-started", "body": "Hi."},
    ).json()
    page = client.get("/personas/me").text
    assert thread["post"]["id"] not in page  # not the persona's: the API ignored the cookie


def test_persona_input_is_checked(client: TestClient):
    short = client.post("/api/v1/personas", json={"handle": "ab", "passphrase": PASSPHRASE})
    assert short.status_code == 422 and short.json()["error"]["field"] == "handle"
    weak = client.post("/api/v1/personas", json={"handle": "someone", "passphrase": "short"})
    assert weak.status_code == 422 and weak.json()["error"]["field"] == "passphrase"
    client.post("/api/v1/personas", json={"handle": "taken-one", "passphrase": PASSPHRASE})
    again = client.post("/api/v1/personas", json={"handle": "Taken-One", "passphrase": PASSPHRASE})
    assert again.status_code == 409 and again.json()["error"]["field"] == "handle"
    form = client.post("/api/v1/personas", data={"handle": "formy", "passphrase": PASSPHRASE})
    assert form.status_code in (403, 415)
    bogus = client.get("/api/v1/personas/me", headers=as_persona("not-a-session"))
    assert bogus.status_code == 401


def test_surveys_started_through_the_api_belong_to_the_persona(client: TestClient):
    from ..surveys.test_surveys import SEARCHING

    made = client.post("/api/v1/personas", json={"handle": "tracker", "passphrase": PASSPHRASE})
    session = made.json()["session"]
    started = client.post("/api/v1/surveys", json=SEARCHING, headers=as_persona(session))
    assert started.status_code == 201, started.text
    survey_id = started.json()["survey"]["id"]
    # Readable by the persona without the survey's key, by nobody else.
    mine = client.get(f"/api/v1/surveys/{survey_id}", headers=as_persona(session))
    assert mine.status_code == 200
    assert client.get(f"/api/v1/surveys/{survey_id}").status_code == 401
