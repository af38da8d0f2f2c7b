"""Thread-list orders on the home, category and entity pages: a GET form chooses the
order, and every page link keeps it."""

from __future__ import annotations

import html
import re

from litestar.testing import TestClient

from ..conftest import submit
from .test_pages import publish_thread

TITLE = re.compile(r'class="thread-title" href="[^"]+">([^<]+)<')


def _titles(page: str) -> list[str]:
    return [html.unescape(title) for title in TITLE.findall(page)]


def _next_link(page: str) -> str | None:
    found = re.search(r'<a href="([^"]+)" rel="next">', page)
    return html.unescape(found.group(1)) if found else None


def test_the_order_form_and_page_links_keep_the_order(client: TestClient):
    for number in range(27):
        publish_thread(client, title=f"Unanswered number {number}", category="coaching")
    answered = publish_thread(client, title="The one with a reply", category="coaching")
    reply = submit(client, f"{answered['url']}/reply", {"body": "Me too.", "action": "publish"})
    assert reply.status_code == 201
    page = client.get("/c/coaching").text
    assert '<form class="list-order" method="get" action="/c/coaching">' in page
    assert '<option value="activity" selected>' in page

    first = client.get("/c/coaching", params={"sort": "unanswered"})
    assert first.status_code == 200
    assert '<option value="unanswered" selected>' in first.text
    link = _next_link(first.text)
    assert link and "sort=unanswered" in link and "after=" in link
    second = client.get(link)
    titles = _titles(first.text) + _titles(second.text)
    assert len(titles) == 27 and "The one with a reply" not in titles
    assert _next_link(second.text) is None
    assert '<a href="/c/coaching?sort=unanswered">First page</a>' in second.text


def test_the_home_page_takes_an_order(client: TestClient):
    publish_thread(client, title="A thread on the home page")
    page = client.get("/", params={"sort": "newest"})
    assert page.status_code == 200 and "Threads: newest" in page.text
    assert "A thread on the home page" in page.text


def test_bad_orders_and_cursors_are_clear_errors(client: TestClient):
    bad_sort = client.get("/c/coaching", params={"sort": "oldest"})
    assert bad_sort.status_code == 422 and "sort" in bad_sort.text
    bad_cursor = client.get("/", params={"after": "!!!"})
    assert bad_cursor.status_code == 400 and "cursor is not valid" in bad_cursor.text
    assert "after" in bad_cursor.text
