"""Moderation end to end, in a real Chromium with JavaScript turned off. (It runs after
test_no_js_flow.py, which starts from an empty forum on the same server.)

A reader reports a post with the plain HTML form; a moderator, created with
``offramp moderator add`` against the live server's database, logs in with the
password, sets up TOTP from the QR page's secret, logs out and in again with a
fresh TOTP code, and hides the post with a public reason; the public log shows the
action and the thread shows the notice in the post's place.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request

import pyotp
import pytest

pytestmark = pytest.mark.e2e

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (or fails in CI) with the reason
    expect = None

HANDLE = "e2e-moderator"
PASSWORD = "an end-to-end moderator password"
BODY = "This program placed nobody; buy my course instead at a discount."
REASON = "Advertising for a paid course"


def start_thread(base: str) -> dict:
    """A thread posted through the JSON API, as any client could."""
    request = urllib.request.Request(
        base + "/api/v1/threads",
        data=json.dumps(
            {"title": "A coaching program, reviewed", "category": "coaching", "body": BODY}
        ).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def add_moderator(live_server) -> None:
    """``offramp moderator add`` on the server's data directory, password on stdin."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OFFRAMP_")}
    env["OFFRAMP_DATA_DIR"] = str(live_server.data_dir)
    result = subprocess.run(
        [sys.executable, "-m", "offramp", "moderator", "add", HANDLE],
        input=PASSWORD + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_report_then_hide_with_password_and_totp(live_server, browser) -> None:
    base = live_server.url
    thread = start_thread(base)
    thread_url = base + thread["thread"]["url"]
    add_moderator(live_server)

    reader = browser.new_context(java_script_enabled=False)
    moderator = browser.new_context(java_script_enabled=False)
    reader.set_default_timeout(10_000)
    moderator.set_default_timeout(10_000)
    try:
        _report(reader.new_page(), thread_url)
        _moderate(moderator.new_page(), base)
        _see_the_outcome(reader.new_page(), base, thread_url)
    finally:
        reader.close()
        moderator.close()


def _report(page, thread_url: str) -> None:
    page.goto(thread_url)
    page.locator("#p1").get_by_role("link", name="Report post 1").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Report this post to the moderators")
    page.get_by_label("Spam or advertising").check()
    page.get_by_label("Anything the moderators should know").fill("It sells a course.")
    page.get_by_role("button", name="Send the report").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you: your report is received")


def _password(page, base: str) -> None:
    page.goto(base + "/moderation/queue")
    expect(page).to_have_url(base + "/moderation/login")  # not logged in: sent here
    page.get_by_label("Handle").fill(HANDLE)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()


def _moderate(page, base: str) -> None:
    # First log-in: password, then TOTP set up from the secret shown beside the QR code.
    _password(page, base)
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-factor log-in")
    expect(page.locator("figure.qr svg")).to_be_visible()
    totp = pyotp.TOTP(page.locator("#secret").inner_text().strip())
    page.get_by_label("The 6-digit code the app now shows").fill(totp.now())
    page.get_by_role("button", name="Finish setting up").click()
    expect(page.locator(".recovery-codes li")).to_have_count(10)
    page.goto(base + "/moderation/queue")
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(base + "/moderation/login")

    # Every later log-in: password, then a fresh code (each code is accepted once).
    _password(page, base)
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your code")
    page.get_by_label("Code").fill(totp.at(time.time() + 30))
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(base + "/moderation/queue")

    item = page.locator(".thread-item").first
    expect(item).to_contain_text("Spam or advertising")
    item.get_by_role("link").click()
    expect(page.locator(".report-notes")).to_contain_text("It sells a course.")
    page.locator("#hide-reason").fill(REASON)
    page.get_by_role("button", name="Hide", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Done: post hidden")


def _see_the_outcome(page, base: str, thread_url: str) -> None:
    page.goto(base + "/moderation/log")
    row = page.locator("tbody tr").first
    expect(row).to_contain_text("Post hidden")
    expect(row).to_contain_text(REASON)
    expect(row).to_contain_text("a moderator")
    expect(row).not_to_contain_text(HANDLE)
    row.get_by_role("link").click()
    expect(page).to_have_url(re.compile(re.escape(thread_url) + "#p1$"))
    notice = page.locator("#p1 .notice")
    expect(notice).to_contain_text(f"[hidden by a moderator: {REASON}]")
    expect(page.locator("#p1")).not_to_contain_text("buy my course")
