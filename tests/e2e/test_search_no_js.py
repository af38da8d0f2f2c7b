"""Finding things in a real Chromium with JavaScript turned off: search from the header
box, narrow by category, open a result, and find the thread's feed."""

from __future__ import annotations

import json
import urllib.request

import feedparser
import pytest

pytestmark = pytest.mark.e2e

WORD = "capybaraquest"


def _post_thread(base: str, title: str, category: str, body: str) -> dict:
    request = urllib.request.Request(
        f"{base}/api/v1/threads",
        data=json.dumps({"title": title, "category": category, "body": body}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def test_search_filter_open_and_subscribe_without_javascript(live_server, browser) -> None:
    base = live_server.url
    coaching = _post_thread(base, "A coaching program review", "coaching", f"The {WORD} one.")
    _post_thread(base, "An interview report", "interviews", f"Another {WORD} mention.")
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{base}/")
        page.fill("#site-search-q", WORD)
        page.press("#site-search-q", "Enter")
        page.wait_for_load_state()
        assert page.url.startswith(f"{base}/search?q={WORD}")
        assert page.locator("ol.results > li").count() == 2
        assert page.locator("ol.results mark").first.inner_text().lower() == WORD

        page.select_option("#search-category", "coaching")
        page.click("form.search-form button[type=submit]")
        page.wait_for_load_state()
        assert "category=coaching" in page.url
        results = page.locator("ol.results > li")
        assert results.count() == 1
        assert "Coaching, courses & boards" in results.first.inner_text()

        results.first.locator("a.thread-title").click()
        page.wait_for_load_state()
        thread_path = coaching["thread"]["url"]
        assert page.url.startswith(base + thread_path)
        feed = page.locator('link[rel="alternate"][type="application/atom+xml"]')
        assert feed.get_attribute("href") == f"{thread_path}/feed.atom"
        assert page.get_by_role("link", name="Subscribe to this thread").is_visible()
        parsed = feedparser.parse(f"{base}{thread_path}/feed.atom")
        assert not parsed.bozo and parsed.entries[0].title.startswith("Opening post by OP")
    finally:
        context.close()
