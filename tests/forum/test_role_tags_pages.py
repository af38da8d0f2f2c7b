"""Role tags on the pages: checkboxes on the new-thread form (no JavaScript), shown on
lists and the thread, and `?role=` on every thread list."""

from __future__ import annotations

import re

from litestar.testing import TestClient

from ..conftest import submit


def _start(client: TestClient, title: str, tags: list[str], category: str = "employers"):
    data = {"title": title, "category": category, "body": "What happened.", "action": "publish"}
    return submit(client, "/new", {**data, "role_tags": tags})


def test_the_form_offers_every_role_as_a_checkbox(client: TestClient):
    page = client.get("/new").text
    boxes = re.findall(r'<input type="checkbox" name="role_tags" value="([a-z_]+)"', page)
    assert len(boxes) == 12 and boxes[0] == "utilization_management" and boxes[-1] == "other"
    assert "<legend>Roles this thread is about (optional)</legend>" in page


def test_chosen_roles_are_shown_and_filter_the_lists(client: TestClient):
    made = _start(client, "Medical affairs after ten years", ["medical_affairs", "consulting"])
    assert made.status_code == 201, made.text
    assert _start(client, "Something else entirely", []).status_code == 201
    thread_url = re.search(r'href="(/threads/[^"#]+)#p1"', made.text).group(1)
    thread = client.get(thread_url).text
    assert '<a class="role-tag" href="/?role=medical_affairs">Medical affairs / MSL</a>' in thread
    for address in ("/?role=medical_affairs", "/c/employers?role=consulting&sort=newest"):
        listing = client.get(address).text
        assert "Medical affairs after ten years" in listing, address
        assert "Something else entirely" not in listing, address
    home = client.get("/").text
    assert "Something else entirely" in home and 'class="role-tag"' in home
    filtered = client.get("/c/employers?role=consulting").text
    assert '<option value="consulting" selected>' in filtered


def test_bad_roles_are_clear_errors(client: TestClient):
    too_many = _start(
        client, "Too many roles", ["consulting", "informatics", "other", "health_tech"]
    )
    assert too_many.status_code == 422
    assert 'id="role_tags-error"' in too_many.text and 'href="#role_tags"' in too_many.text
    assert re.search(r'value="consulting" checked', too_many.text)
    unknown = _start(client, "An unknown role", ["astronaut"])
    assert unknown.status_code == 422 and 'id="role_tags-error"' in unknown.text
    bad_filter = client.get("/?role=astronaut")
    assert bad_filter.status_code == 422 and "role" in bad_filter.text
