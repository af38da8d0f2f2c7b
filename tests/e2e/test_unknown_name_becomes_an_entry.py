"""A new employer, end to end, in a real Chromium with JavaScript turned off: the form
refuses a name the directory does not know and then offers to add it; the new entry
is pending (its page says so, the directory does not list it) until a poster in
another thread names it too. (Runs after the other end-to-end files, on the same
server.)"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e

NAME = "Quillfeather Review Partners"


def _start_thread(page, base: str, title: str, entity: str) -> None:
    page.goto(f"{base}/new")
    page.fill("#title", title)
    page.select_option("#category", "employers")
    page.fill("#entity", entity)
    page.fill("#body", "How their hiring went, step by step.")
    page.click("button[value=publish]")
    page.wait_for_load_state()


def test_an_unknown_employer_is_added_and_confirmed_without_javascript(
    live_server, browser
) -> None:
    base = live_server.url
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        _start_thread(page, base, "Interviewing at a review company", NAME)
        error = page.locator("#entity-error")
        assert "No employer, program or certification in the directory" in error.inner_text()
        page.check("#new_entities")
        page.select_option("#entity_kind", "employer")
        page.click("button[value=publish]")
        page.wait_for_load_state()
        assert page.get_by_role("heading", level=1).inner_text().startswith("Published")

        page.goto(f"{base}/entities/quillfeather-review-partners")
        assert "awaits confirmation" in page.locator("main").inner_text()
        page.goto(f"{base}/entities?kind=employer")
        assert NAME not in page.locator("main").inner_text()

        # Someone else, in another thread, names it (in other letters): confirmed.
        other = context.new_page()
        _start_thread(other, base, "Their physician advisor role", "quillfeather review-partners")
        assert other.get_by_role("heading", level=1).inner_text().startswith("Published")
        page.goto(f"{base}/entities?kind=employer")
        assert NAME in page.locator("main").inner_text()
        page.goto(f"{base}/moderation/log")
        row = page.locator("tbody tr").first
        assert "confirmed by a second mention" in row.inner_text()
        assert "the site's rule" in row.inner_text()
    finally:
        context.close()
