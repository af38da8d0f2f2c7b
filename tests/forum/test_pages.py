"""The HTML pages over real HTTP: reading, the no-JavaScript forms, and their guards."""

from __future__ import annotations

import re
import sqlite3

from litestar.testing import TestClient

from offramp.app import create_app

from ..conftest import ORIGIN, pg_execute, run_async, submit


def publish_thread(
    client: TestClient,
    title: str = "Physician advisor role, six months in",
    body: str = "Hours are *predictable*.",
    category: str = "employers",
) -> dict:
    response = submit(
        client,
        "/new",
        data={"title": title, "category": category, "body": body, "action": "publish"},
    )
    assert response.status_code == 201, response.text
    key = re.search(r'id="edit-key" type="text" readonly value="([^"]+)"', response.text)
    url = re.search(r'<a class="button" href="(/threads/[^"#]+)#p(\d+)"', response.text)
    assert key and url
    return {"key": key.group(1), "url": url.group(1), "html": response.text}


def post_ids(html: str) -> list[str]:
    return re.findall(r'href="/posts/([^/]+)/manage"', html)


def test_reading_pages_answer(client: TestClient):
    thread = publish_thread(client)
    for path in [
        "/",
        "/c/employers",
        "/c/interviews",
        thread["url"],
        "/entities",
        "/entities?kind=program",
        "/about",
        "/new",
        "/new?category=coaching",
        thread["url"] + "/reply",
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        assert '<main id="main"' in response.text
    assert "Physician advisor role, six months in" in client.get("/").text
    assert "<em>predictable</em>" in client.get(thread["url"]).text


def test_preview_shows_the_rendering_and_publishes_nothing(client: TestClient):
    response = submit(
        client,
        "/new",
        data={
            "title": "Preview only please",
            "category": "coaching",
            "body": "**bold** text",
            "action": "preview",
        },
    )
    assert response.status_code == 200
    assert "<strong>bold</strong> text" in response.text
    assert 'value="Preview only please"' in response.text
    assert response.headers["cache-control"] == "no-store"
    assert "Preview only please" not in client.get("/c/coaching").text


def test_validation_errors_are_shown_next_to_their_field(client: TestClient):
    response = submit(
        client, "/new", data={"title": "Hi", "category": "", "body": "", "action": "publish"}
    )
    assert response.status_code == 422
    assert 'id="title-error">must be at least 5 characters' in response.text
    assert 'aria-invalid="true"' in response.text
    assert "Please fix these first" in response.text
    assert client.get("/api/v1/threads").json()["threads"] == []


def test_unknown_entity_is_a_form_error(client: TestClient):
    response = submit(
        client,
        "/new",
        data={
            "title": "About someone unknown",
            "category": "employers",
            "entity": "Nobody Inc",
            "body": "x",
            "action": "publish",
        },
    )
    assert response.status_code == 422
    assert (
        'id="entity-error">No employer, program or certification in the directory is called'
        in response.text
    )
    # The form now offers to add the name as a new, pending entry, with its kind.
    assert 'name="new_entities"' in response.text
    assert 'name="entity_kind"' in response.text


def test_key_page_is_private_and_offers_a_download(client: TestClient):
    thread = publish_thread(client)
    assert "shown <strong>once</strong>" in thread["html"]
    download = client.post(
        "/edit-key.txt", data={"edit_key": thread["key"], "post_url": thread["url"]}
    )
    assert download.status_code == 201 or download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.headers["cache-control"] == "no-store"
    assert thread["key"] in download.text


def test_reply_as_op_edit_and_delete_with_the_key(client: TestClient):
    thread = publish_thread(client)
    reply = submit(
        client,
        thread["url"] + "/reply",
        data={"body": "An update from me.", "author_key": thread["key"], "action": "publish"},
    )
    assert reply.status_code == 201
    reply_key = re.search(r'id="edit-key" type="text" readonly value="([^"]+)"', reply.text)[1]
    page = client.get(thread["url"]).text
    assert page.count('class="author op"') == 2
    first_id, reply_id = post_ids(page)

    wrong = client.post(f"/posts/{reply_id}/edit", data={"edit_key": "not it"})
    assert wrong.status_code == 403
    assert "That edit key does not belong to this post." in wrong.text

    form = client.post(f"/posts/{reply_id}/edit", data={"edit_key": reply_key})
    assert form.status_code == 200 and "An update from me." in form.text
    assert form.headers["cache-control"] == "no-store"
    saved = client.post(
        f"/posts/{reply_id}/edit",
        data={"edit_key": reply_key, "body": "A corrected update.", "action": "publish"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    page = client.get(thread["url"]).text
    assert "A corrected update." in page and '<span class="edited">edited</span>' in page

    confirm = client.post(f"/posts/{first_id}/delete", data={"edit_key": thread["key"]})
    assert confirm.status_code == 200 and "Yes, delete it" in confirm.text
    assert "Hours are" in client.get(thread["url"]).text  # nothing deleted yet
    done = client.post(
        f"/posts/{first_id}/delete",
        data={"edit_key": thread["key"], "confirm": "yes"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    page = client.get(thread["url"]).text
    assert "[deleted by author]" in page and "Hours are" not in page
    assert "A corrected update." in page


def test_editing_the_opening_post_can_change_the_title(client: TestClient):
    thread = publish_thread(client)
    first_id = post_ids(client.get(thread["url"]).text)[0]
    form = client.post(f"/posts/{first_id}/edit", data={"edit_key": thread["key"]})
    assert 'name="title"' in form.text
    client.post(
        f"/posts/{first_id}/edit",
        data={
            "edit_key": thread["key"],
            "body": "New text",
            "title": "A clearer title",
            "action": "publish",
        },
    )
    assert "<h1>A clearer title</h1>" in client.get(thread["url"]).text


def test_cross_site_form_posts_are_refused(client: TestClient):
    data = {
        "title": "Forged from elsewhere",
        "category": "employers",
        "body": "x",
        "action": "publish",
    }
    for headers in (
        {"Origin": "https://evil.example"},
        {"Origin": ORIGIN, "Sec-Fetch-Site": "cross-site"},
        {"Origin": ORIGIN, "Sec-Fetch-Site": "same-site"},
    ):
        response = submit(client, "/new", data=data, headers=headers)
        assert response.status_code == 403, headers
        assert "Form refused" in response.text
    del client.headers["Origin"]
    assert submit(client, "/new", data=data).status_code == 403  # says nothing about its origin
    same = submit(client, "/new", data=data, headers={"Sec-Fetch-Site": "same-origin"})
    assert same.status_code == 201
    assert client.get("/api/v1/threads").json()["threads"][0]["title"] == "Forged from elsewhere"


def test_security_headers_on_pages_static_files_and_errors(client: TestClient):
    for path in ["/", "/static/css/site.css", "/threads/nosuchthread", "/no/such/page"]:
        headers = client.get(path).headers
        assert headers["content-security-policy"].startswith(
            "default-src 'self'; object-src 'none'"
        )
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["x-content-type-options"] == "nosniff"
        assert "set-cookie" not in headers


def test_pages_load_nothing_from_other_sites(client: TestClient):
    publish_thread(client, body="![pixel](https://tracker.example/p.gif) [ok](https://example.org)")
    for path in ["/", "/c/employers", "/about", "/new"]:
        html = client.get(path).text
        for url in re.findall(r'(?:src|href)="([^"]+)"', html):
            if url.startswith(("http://", "https://", "//")):
                assert 'rel="nofollow' in html, url
        assert not re.search(r'src="(https?:)?//', html)


def test_missing_pages_are_friendly_404s(client: TestClient):
    for path in [
        "/threads/nosuchthread",
        "/c/nosuchcategory",
        "/entities/nobody",
        "/posts/nosuchpost/manage",
        "/anything",
    ]:
        response = client.get(path)
        assert response.status_code == 404, path
        assert "<h1>Not found</h1>" in response.text


def test_a_write_shows_up_at_once_despite_the_page_cache(client: TestClient):
    assert "No threads yet" in client.get("/").text
    client.get("/")  # now cached
    client.post(
        "/api/v1/threads",
        json={"title": "Fresh thread appears", "category": "coaching", "body": "x"},
    )
    assert "Fresh thread appears" in client.get("/").text


def test_demo_mode_labels_every_page(settings):
    app = create_app(settings.model_copy(update={"demo": True}))
    with TestClient(app, base_url=ORIGIN) as demo_client:
        for path in ["/", "/about", "/new", "/no/such/page"]:
            assert "<strong>Demo data.</strong>" in demo_client.get(path).text


def drop_table(settings, table: str) -> None:
    """Break the database behind the app's back, on a connection of our own."""
    if settings.is_sqlite:
        with sqlite3.connect(settings.sqlite_path) as connection:
            connection.execute(f"DROP TABLE {table}")
    else:
        run_async(pg_execute(settings.resolved_database_url, f"DROP TABLE {table} CASCADE"))


def test_server_errors_show_no_internals(settings):
    app = create_app(settings)
    with TestClient(app, base_url=ORIGIN, raise_server_exceptions=False) as broken:
        drop_table(settings, "forum_post_revision")
        response = broken.post(
            "/api/v1/threads", json={"title": "Will not work", "body": "x", "category": "coaching"}
        )
        assert response.status_code == 500
        assert response.json()["error"]["code"] == "internal_error"
        assert "Traceback" not in response.text and "forum_post_revision" not in response.text
        page = submit(
            broken,
            "/new",
            data={
                "title": "Will not work",
                "category": "coaching",
                "body": "x",
                "action": "publish",
            },
            headers={"Origin": ORIGIN},
        )
        assert page.status_code == 500
        assert "Something went wrong" in page.text and "Traceback" not in page.text
        # The failed write left nothing half-written.
        assert broken.get("/api/v1/threads").json()["threads"] == []
