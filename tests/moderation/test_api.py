"""Moderation's JSON API: reports and takedown requests from anyone, the queue and the
actions for a logged-in moderator, and the stable error body for everyone else."""

from __future__ import annotations

from litestar.testing import TestClient

from .conftest import LoggedIn, new_thread


def test_report_by_api_is_anonymous_and_grouped(moderator: LoggedIn, reader: TestClient):
    post_id = new_thread(reader)["post"]["id"]
    for reason in ("spam", "spam", "astroturfing"):
        sent = reader.post(f"/api/v1/posts/{post_id}/reports", json={"reason": reason})
        assert sent.status_code == 201 and sent.json()["post_id"] == post_id
        assert "set-cookie" not in sent.headers and sent.headers["cache-control"] == "no-store"
    queue = moderator.client.get("/api/v1/moderation/queue").json()
    assert len(queue) == 1 and queue[0]["post_id"] == post_id
    assert queue[0]["why"] == [  # equally urgent: the more often reported first
        "Spam or advertising ×2",
        "Astroturfing or an undisclosed conflict of interest",
    ]


def test_report_input_is_checked(reader: TestClient):
    post_id = new_thread(reader)["post"]["id"]
    bad = reader.post(f"/api/v1/posts/{post_id}/reports", json={"reason": "boring"})
    assert bad.status_code in (400, 422) and bad.json()["error"]["field"]
    long = reader.post(
        f"/api/v1/posts/{post_id}/reports", json={"reason": "other", "note": "x" * 1001}
    )
    assert long.status_code in (400, 422)
    form = reader.post(f"/api/v1/posts/{post_id}/reports", data={"reason": "spam"})
    assert form.status_code == 415
    missing = reader.post("/api/v1/posts/nosuchpost/reports", json={"reason": "spam"})
    assert missing.status_code == 404


def test_moderator_api_acts_and_answers_with_the_log_entry(moderator: LoggedIn, reader: TestClient):
    thread = new_thread(reader)
    post_id, thread_id = thread["post"]["id"], thread["thread"]["id"]
    review = moderator.client.get(f"/api/v1/moderation/posts/{post_id}").json()
    assert review["status"] == "published" and review["revisions"][0]["number"] == 1
    no_reason = moderator.client.post(
        f"/api/v1/moderation/posts/{post_id}/actions", json={"action": "hide"}
    )
    assert no_reason.status_code == 422 and no_reason.json()["error"]["field"] == "reason"
    hidden = moderator.client.post(
        f"/api/v1/moderation/posts/{post_id}/actions",
        json={"action": "hide", "reason": "Spam"},
    )
    assert hidden.status_code == 201, hidden.text
    assert hidden.json()["label"] == "Post hidden" and hidden.json()["role"] == "moderator"
    locked = moderator.client.post(
        f"/api/v1/moderation/threads/{thread_id}/actions",
        json={"action": "lock", "reason": "Closed"},
    )
    assert locked.status_code == 201 and locked.json()["action"] == "lock"
    conflict = moderator.client.post(
        f"/api/v1/moderation/threads/{thread_id}/actions",
        json={"action": "lock", "reason": "Closed"},
    )
    assert conflict.status_code == 409
    public = reader.get(f"/api/v1/posts/{post_id}").json()
    assert public["status"] == "hidden" and public["notice"] == "Spam"
    assert public["body_html"] == ""


def test_takedown_request_by_api(reader: TestClient):
    post_id = new_thread(reader)["post"]["id"]
    sent = reader.post(
        f"/api/v1/posts/{post_id}/takedown-requests",
        json={"organisation": "Acme Coaching", "claim": "Every statement here is untrue."},
    )
    assert sent.status_code == 201, sent.text
    again = reader.post(
        f"/api/v1/posts/{post_id}/takedown-requests",
        json={"organisation": "Acme Coaching", "claim": "Every statement here is untrue."},
    )
    assert again.status_code == 409
    short = reader.post(
        f"/api/v1/posts/{post_id}/takedown-requests",
        json={"organisation": "A", "claim": "short"},
    )
    assert short.status_code in (400, 409, 422)
    assert reader.get(f"/api/v1/posts/{post_id}").json()["status"] == "under_review"


def test_the_openapi_document_describes_moderation(reader: TestClient):
    paths = reader.get("/schema/openapi.json").json()["paths"]
    assert "/api/v1/posts/{post_id}/reports" in paths
    assert "/api/v1/moderation/posts/{post_id}/actions" in paths
    assert "/moderation/log.json" in paths
    assert "/moderation/queue" not in paths  # pages are not in the API document
