"""Abuse control over HTTP: 429s that say when to retry, bots fooled, proof-of-work."""

from __future__ import annotations

import base64
import hashlib
import json
import re

from litestar.testing import TestClient

from offramp.app import create_app

from ..conftest import ORIGIN, form_token


def limited_client(settings, **overrides) -> TestClient:
    changes = {"rate_limits": "thread=2/3600,edit_key=3/600", **overrides}
    client = TestClient(create_app(settings.model_copy(update=changes)), base_url=ORIGIN)
    client.headers["Origin"] = ORIGIN
    return client


THREAD = {"title": "Limits apply to everyone", "category": "coaching", "body": "x"}


def test_api_writes_are_limited_with_a_retry_after(settings):
    with limited_client(settings) as client:
        assert client.post("/api/v1/threads", json=THREAD).status_code == 201
        refused = client.post("/api/v1/threads", json=THREAD)  # half of 2 without PoW
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) > 0
        error = refused.json()["error"]
        assert error["code"] == "rate_limited" and "Try again in" in error["message"]


def test_edit_key_attempts_are_limited(settings):
    with limited_client(settings) as client:
        post_id = client.post("/api/v1/threads", json=THREAD).json()["post"]["id"]
        codes = [
            client.patch(
                f"/api/v1/posts/{post_id}",
                json={"body": "x"},
                headers={"Authorization": "Bearer guess"},
            ).status_code
            for _ in range(4)
        ]
        assert codes == [403, 403, 403, 429]


def test_form_pages_show_the_limit_in_the_form(settings):
    with limited_client(settings, form_min_seconds=0) as client:
        data = {**THREAD, "action": "publish"}
        first = client.post("/new", data={"form_token": form_token(client), **data})
        assert first.status_code == 201
        again = client.post("/new", data={"form_token": form_token(client), **data})
        assert again.status_code == 429
        assert "Too many new threads" in again.text
        assert 'value="Limits apply to everyone"' in again.text  # nothing typed is lost


def test_a_filled_honeypot_looks_like_success_and_stores_nothing(client):
    data = {**THREAD, "action": "publish", "website": "http://spam.example"}
    response = client.post("/new", data={"form_token": form_token(client), **data})
    assert response.status_code == 201 and "Keep your edit key" in response.text
    assert client.get("/api/v1/threads").json()["threads"] == []


def test_a_form_sent_too_fast_is_a_bot_and_a_missing_token_is_asked_again(settings):
    with limited_client(settings, rate_limits="off", form_min_seconds=30) as client:
        data = {**THREAD, "action": "publish"}
        fast = client.post("/new", data={"form_token": form_token(client), **data})
        assert fast.status_code == 201
        forged = client.post("/new", data={"form_token": "1.deadbeef", **data})
        assert forged.status_code == 201
        missing = client.post("/new", data=data)
        assert missing.status_code == 422 and "submit it again" in missing.text
        assert client.get("/api/v1/threads").json()["threads"] == []


def solve(challenge: dict) -> str:
    for number in range(challenge["maxNumber"] + 1):
        digest = hashlib.sha256(f"{challenge['salt']}{number}".encode()).hexdigest()
        if digest == challenge["challenge"]:
            payload = {k: challenge[k] for k in ("algorithm", "challenge", "salt", "signature")}
            return base64.b64encode(json.dumps({**payload, "number": number}).encode()).decode()
    raise AssertionError("unsolvable challenge")


def test_a_solved_challenge_earns_the_full_limit_once(settings):
    with limited_client(settings, proof_of_work_cost=2000) as client:
        challenge = client.get("/api/v1/pow/challenge").json()
        assert challenge["algorithm"] == "SHA-256"
        solution = solve(challenge)
        headers = {"X-Proof-Of-Work": solution}
        assert client.post("/api/v1/threads", json=THREAD, headers=headers).status_code == 201
        # With a solution the limit is 2: but the same solution is not accepted twice.
        replayed = client.post("/api/v1/threads", json=THREAD, headers=headers)
        assert replayed.status_code == 429
        fresh = {"X-Proof-Of-Work": solve(client.get("/api/v1/pow/challenge").json())}
        assert client.post("/api/v1/threads", json=THREAD, headers=fresh).status_code == 429


def test_forms_carry_a_token_and_a_hidden_honeypot(client):
    html = client.get("/new").text
    assert re.search(r'name="form_token" value="\d+\.[0-9a-f]{16}\.[0-9a-f]{32}"', html)
    assert 'class="hp" aria-hidden="true"' in html and 'tabindex="-1"' in html
