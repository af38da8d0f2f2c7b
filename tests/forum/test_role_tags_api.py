"""Role tags through the JSON API: `role_tags` when starting a thread, `role` to filter."""

from __future__ import annotations

from litestar.testing import TestClient

from .test_api import assert_error, start_thread


def test_role_tags_are_set_shown_and_filtered(client: TestClient):
    tagged = start_thread(client, role_tags=["payer_medical_director", "informatics"])
    start_thread(client, title="Nothing to do with payers")
    assert [tag["slug"] for tag in tagged["thread"]["role_tags"]] == [
        "informatics",
        "payer_medical_director",
    ]
    thread = client.get(f"/api/v1/threads/{tagged['thread']['id']}").json()["thread"]
    assert [tag["name"] for tag in thread["role_tags"]] == [
        "Informatics / CMIO",
        "Payer medical director",
    ]
    listing = client.get("/api/v1/threads", params={"role": "informatics"}).json()
    assert [t["id"] for t in listing["threads"]] == [tagged["thread"]["id"]]
    everything = client.get("/api/v1/threads").json()["threads"]
    assert len(everything) == 2


def test_bad_role_tags_name_their_field(client: TestClient):
    assert_error(client.get("/api/v1/threads", params={"role": "astronaut"}), 422, field="role")
    body = {"title": "A fine title", "category": "employers", "body": "Text."}
    too_many = {**body, "role_tags": ["consulting", "informatics", "other", "health_tech"]}
    response = client.post("/api/v1/threads", json=too_many)
    assert response.status_code == 422 and "role_tags" in response.json()["error"]["field"]
    unknown = client.post("/api/v1/threads", json={**body, "role_tags": ["astronaut"]})
    assert unknown.status_code == 422 and "role_tags" in unknown.json()["error"]["field"]
    assert client.get("/api/v1/threads").json()["threads"] == []
