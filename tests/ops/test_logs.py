"""Structured logs (offramp.ops.logs): a real ``offramp serve`` gets a mix of reads,
searches, writes and edits with keys from a canary address and user agent; every line
it writes is a JSON object, every request has a line with a request id (the one the
client got back as ``X-Request-Id``), and no line holds anything the client sent."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx

from offramp.config import Settings

from ..judges.servers import running_server, without_abuse_limits

CANARY_PEER = "203.0.113.77"  # what the trusted proxy says the client was
CANARY_AGENT = "LogCanaryAgent/4.2 (offramp-log-canary)"
CANARY_SEARCH = "zebracanarysearch"
CANARY_QUERY = "querycanary7731"
CANARY_COOKIE = "cookiecanary5512"
CANARY_REFERRER = "https://referrer-canary.example/page"
CANARY_BODY = "bodycanary3318"


def test_log_lines_are_json_with_request_ids_and_hold_nothing_of_the_client(
    settings: Settings, tmp_path: Path
):
    served = without_abuse_limits(settings).model_copy(update={"trusted_proxies": "127.0.0.1"})
    log_path = tmp_path / "server.log"
    with running_server(served, log_path) as server:
        headers = {
            "User-Agent": CANARY_AGENT,
            "X-Forwarded-For": CANARY_PEER,
            "Referer": CANARY_REFERRER,
            "Cookie": f"tracking={CANARY_COOKIE}",
            "Origin": server.url,
        }
        with httpx.Client(base_url=server.url, headers=headers, timeout=20) as http:
            responses, secrets_sent = act(http)
    request_ids = [response.headers["x-request-id"] for response in responses]
    assert all(re.fullmatch(r"[0-9a-f]{16}", rid) for rid in request_ids), request_ids
    assert len(set(request_ids)) == len(request_ids), "request ids must not repeat"

    text = log_path.read_text()
    lines = [line for line in text.splitlines() if line and not line.startswith("--- ")]
    records = [json.loads(line) for line in lines]  # every line is JSON
    assert all(isinstance(record, dict) and "event" in record for record in records)
    assert any(record["event"].startswith("Application startup complete") for record in records)

    request_lines = [record for record in records if record["event"] == "request"]
    by_id = {record["request_id"]: record for record in request_lines}
    for response in responses:
        line = by_id[response.headers["x-request-id"]]
        assert line["status"] == response.status_code
        assert line["method"] == response.request.method
        assert line["route"].startswith("/") or line["route"] == "(no route)"
        assert isinstance(line["duration_ms"], float)
    assert {"/search", "/api/v1/posts/{post_id}", "(no route)"} <= {
        line["route"] for line in request_lines
    }
    assert set(request_lines[0]) == {
        "event", "request_id", "method", "route", "status", "duration_ms",
        "level", "logger", "time",
    }  # fmt: skip

    canaries = [
        CANARY_PEER,
        CANARY_AGENT,
        "offramp-log-canary",
        CANARY_SEARCH,
        CANARY_QUERY,
        CANARY_COOKIE,
        "referrer-canary",
        CANARY_BODY,
        *secrets_sent,
    ]
    for canary in canaries:
        assert canary not in text, f"the log holds {canary!r}"
    assert not re.search(r'127\.0\.0\.1:\d+ - "', text), "an access-log line was written"


def act(http: httpx.Client) -> tuple[list[httpx.Response], list[str]]:
    """Reads, searches, a thread and a reply by API and form, edits with keys."""
    responses: list[httpx.Response] = []

    def call(method: str, url: str, **kwargs) -> httpx.Response:
        response = http.request(method, url, **kwargs)
        assert response.status_code < 500, (url, response.text)
        responses.append(response)
        return response

    created = call(
        "POST",
        "/api/v1/threads",
        json={"title": "Logged thread", "category": "coaching", "body": f"Text {CANARY_BODY}."},
    )
    assert created.status_code == 201, created.text
    key, post_id = created.json()["edit_key"], created.json()["post"]["id"]
    thread_id = created.json()["thread"]["id"]
    edited = call(
        "PATCH",
        f"/api/v1/posts/{post_id}",
        json={"body": f"Edited {CANARY_BODY}."},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert edited.status_code == 200, edited.text
    call(  # a wrong key
        "PATCH",
        f"/api/v1/posts/{post_id}",
        json={"body": "x"},
        headers={"Authorization": "Bearer not-the-key-canary"},
    )
    page = call("GET", "/new").text
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    form_edit = call(
        "POST",
        f"/posts/{post_id}/edit",
        data={"edit_key": key, "body": f"By form {CANARY_BODY}.", "action": "publish",
              "form_token": token},
    )  # fmt: skip
    assert form_edit.status_code < 400, form_edit.text
    call("GET", f"/search?q={CANARY_SEARCH}&{CANARY_QUERY}=1")
    call("GET", f"/api/v1/search?q={CANARY_SEARCH}")
    call("GET", f"/threads/{thread_id}?{CANARY_QUERY}=2")
    call("GET", "/")
    call("GET", f"/no/such/page?{CANARY_QUERY}=3")
    broken = {"content": b"{broken", "headers": {"Content-Type": "application/json"}}
    call("POST", "/api/v1/threads", **broken)
    return responses, [key, post_id, thread_id, "not-the-key-canary"]
