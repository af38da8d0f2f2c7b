"""A reader's whole journey in a real Chromium with JavaScript turned off.

Start a thread (with preview), keep the edit key, reply as "OP" with that key,
edit the reply and delete the first post with their keys, and see a wrong key
refused. The reply and the edit are done with the keyboard only, checking that
every element Tab lands on shows a visible focus outline. Finally the server's
log must hold no access-log line: no client address and no user agent.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (or fails in CI) with the reason
    expect = None

CANARY_UA = "offramp-canary-ua-7f3a"
SHOTS = Path("/tmp/e2e-shots")
# uvicorn's access log: `INFO:     127.0.0.1:54321 - "GET / HTTP/1.1" 200 OK`
ACCESS_LOG_LINE = re.compile(r"127\.0\.0\.1:\d+ - \"")

TITLE = "Interview loop at a utilization review company"
BODY = (
    "Four rounds over **two weeks**; the *panel* asked about denials.\n\n"
    "- no take-home\n- offer in 10 days"
)
REPLY = "Following up: I took the offer and started last month."
REPLY_EDITED = "Following up: I took the offer, started last month, and the hours are as promised."
MAX_TABS = 40

FOCUS_STYLE = r"""() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  return {
    tag: el.tagName.toLowerCase(),
    id: el.id,
    text: el.textContent.replace(/\s+/g, ' ').trim().slice(0, 60),
    outlineStyle: style.outlineStyle,
    outlineWidth: parseFloat(style.outlineWidth) || 0,
    focusVisible: el.matches(':focus-visible'),
  };
}"""


def tab_to(page, matches, what: str) -> dict:
    """Press Tab until ``matches(focused)`` holds; every stop must show a focus outline."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUS_STYLE)
        assert focused is not None, f"Tab left the page while looking for {what}"
        assert focused["focusVisible"], f"{focused} is not :focus-visible"
        assert focused["outlineStyle"] != "none" and focused["outlineWidth"] > 0, (
            f"no visible focus outline on {focused}"
        )
        if matches(focused):
            return focused
    raise AssertionError(f"{what} was not reached within {MAX_TABS} presses of Tab")


def by_id(element_id: str):
    return lambda focused: focused["id"] == element_id


def by_text(tag: str, text: str):
    return lambda focused: focused["tag"] == tag and focused["text"].startswith(text)


def test_post_reply_edit_delete_without_javascript(live_server, browser) -> None:
    context = browser.new_context(
        java_script_enabled=False,
        user_agent=CANARY_UA,
        viewport={"width": 1280, "height": 900},
        color_scheme="light",
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    documents: list[tuple[str, int, str]] = []
    page.on(
        "response",
        lambda response: (
            response.request.resource_type == "document"
            and documents.append(
                (
                    response.url,
                    response.status,
                    response.headers.get("content-type", ""),
                )
            )
        ),
    )
    try:
        _journey(page, live_server.url)
    finally:
        context.close()
    not_html = [
        (url, status, kind)
        for url, status, kind in documents
        if not 300 <= status < 400 and not kind.startswith("text/html")
    ]
    assert not not_html, f"pages not served as text/html: {not_html}"

    log = live_server.log()
    assert "Application startup complete" in log, f"server log not captured?\n{log}"
    assert CANARY_UA not in log, f"the user agent reached the server log:\n{log}"
    assert not ACCESS_LOG_LINE.search(log), f"an access-log line was written:\n{log}"


def _journey(page, base: str) -> None:
    # -- home, then "New thread" ---------------------------------------------------------
    home = page.goto(base + "/")
    assert home is not None and home.status == 200
    assert home.headers.get("content-type", "").startswith("text/html"), (
        f"the home page is served as {home.headers.get('content-type')!r}, so the browser "
        "shows its source instead of rendering it"
    )
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "What really happens when physicians leave clinical practice"
    )
    expect(page.get_by_text("No threads yet. Be the first to start one.")).to_be_visible()
    page.get_by_role("link", name="New thread").click()
    expect(page).to_have_url(base + "/new")
    expect(page.get_by_role("heading", level=1)).to_have_text("Start a thread")

    # -- fill the form, preview, publish --------------------------------------------------
    page.get_by_label("Title").fill(TITLE)
    category = page.get_by_label("Category")
    category_name = category.locator("option").nth(1).inner_text().strip()
    category.select_option(label=category_name)
    page.get_by_label("What happened").fill(BODY)
    page.get_by_role("button", name="Preview").click()

    preview = page.get_by_role("region", name="Preview")
    expect(preview).to_be_visible()
    expect(preview.locator("strong")).to_have_text("two weeks")
    expect(preview.locator("em")).to_have_text("panel")
    expect(preview.locator("li")).to_have_text(["no take-home", "offer in 10 days"])
    # nothing published yet, and the form kept what was typed
    expect(page.get_by_label("Title")).to_have_value(TITLE)
    expect(page.get_by_label("Category").locator("option:checked")).to_have_text(category_name)
    expect(page.get_by_label("What happened")).to_have_value(BODY)

    page.get_by_role("button", name="Publish thread").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Published. Keep your edit key.")
    thread_key = page.locator("#edit-key").input_value()
    expect(page.locator("#edit-key")).to_have_attribute("readonly", "")
    assert len(thread_key) >= 20, thread_key

    # -- the thread as a reader sees it ---------------------------------------------------
    page.get_by_role("link", name=f"Go to your post in “{TITLE}”").click()
    expect(page).to_have_url(re.compile(r"/threads/[^/#?]+#p1$"))
    thread_url = page.url.split("#")[0]
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.get_by_role("navigation", name="Breadcrumb")).to_contain_text(category_name)
    first = page.locator("#p1")
    expect(first.locator(".author")).to_have_text("OP")
    expect(first.locator(".post-body strong")).to_have_text("two weeks")
    expect(page.locator("article.post")).to_have_count(1)

    # -- reply as OP, keyboard only -------------------------------------------------------
    # Start from the top of the thread page, as someone arriving there would.
    page.goto(thread_url)
    tab_to(page, by_id("body"), "the reply text box")
    page.keyboard.type(REPLY)
    tab_to(page, by_text("summary", "Reply as the same person"), "the summary")
    page.keyboard.press("Enter")  # opens the <details>
    expect(page.locator("details.field")).to_have_attribute("open", "")
    tab_to(page, by_id("author_key"), "the author key field")
    page.keyboard.type(thread_key)
    tab_to(page, by_text("button", "Preview"), "the Preview button")
    tab_to(page, by_text("button", "Publish reply"), "the Publish reply button")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Published. Keep your edit key.")
    reply_key = page.locator("#edit-key").input_value()
    assert reply_key and reply_key != thread_key
    tab_to(page, by_text("a", "Go to your post"), "the link to the post")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#p2$"))
    reply = page.locator("#p2")
    expect(reply.locator(".author")).to_have_text("OP")
    expect(reply.locator(".post-body")).to_have_text(REPLY)
    expect(page.locator("main > p.meta")).to_contain_text("1 reply")

    # -- edit the reply, keyboard only ----------------------------------------------------
    page.goto(thread_url)
    tab_to(page, by_text("a", "Edit or delete post 2"), "the reply's Edit or delete link")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit or delete your post")
    tab_to(page, by_id("edit_key"), "the edit key field")
    page.keyboard.type(reply_key)
    tab_to(page, by_text("button", "Edit the post"), "the Edit button")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit your post")
    tab_to(page, by_id("body"), "the text box")
    expect(page.locator("#body")).to_have_value(REPLY)
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type(REPLY_EDITED)
    tab_to(page, by_text("button", "Preview"), "the Preview button")
    tab_to(page, by_text("button", "Save changes"), "the Save changes button")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/threads/[^/#?]+#p2$"))
    reply = page.locator("#p2")
    expect(reply.locator(".post-body")).to_have_text(REPLY_EDITED)
    expect(reply.locator(".edited")).to_have_text("edited")
    expect(page.locator("#p1 .edited")).to_have_count(0)

    # -- a wrong key is refused, visibly ----------------------------------------------------
    page.locator("#p1").get_by_role("link", name="Edit or delete").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit or delete your post")
    page.get_by_label("Edit key").fill(reply_key)  # a real key, but another post's
    page.get_by_role("button", name="Edit the post").click()
    error = page.locator("#edit_key-error")
    expect(error).to_be_visible()
    expect(error).to_have_text("That edit key does not belong to this post.")
    expect(page.get_by_role("alert")).to_contain_text("That edit key does not belong")
    expect(page.get_by_label("Edit key")).to_have_attribute("aria-invalid", "true")

    # -- delete the first post -------------------------------------------------------------
    page.get_by_label("Edit key").fill(thread_key)
    page.get_by_role("button", name="Delete the post…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete this post?")
    page.get_by_role("button", name="Yes, delete it").click()
    expect(page).to_have_url(re.compile(r"/threads/[^/#?]+#p1$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    first = page.locator("#p1")
    expect(first.locator(".notice")).to_have_text("[deleted by author]")
    expect(first.locator(".post-body")).to_have_count(0)
    expect(first).not_to_contain_text("two weeks")
    reply = page.locator("#p2")
    expect(reply.locator(".author")).to_have_text("OP")
    expect(reply.locator(".post-body")).to_have_text(REPLY_EDITED)

    # -- screenshots of the final thread page --------------------------------------------
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(thread_url)
    page.screenshot(path=str(SHOTS / "thread-1280.png"), full_page=True)
    page.set_viewport_size({"width": 375, "height": 812})
    page.screenshot(path=str(SHOTS / "thread-375.png"), full_page=True)
