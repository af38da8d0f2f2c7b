"""Moderation fixtures: moderators made through the service (as the CLI does), logged in
over HTTP with their password and a TOTP code, and posts to moderate."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import pyotp
import pytest
from litestar.testing import TestClient

from offramp.config import Settings
from offramp.moderation.accounts import Moderators

PASSWORD = "a long and boring moderator password"


@dataclass
class LoggedIn:
    """A moderator logged in on ``client``, with their authenticator."""

    client: TestClient
    totp: pyotp.TOTP
    recovery_codes: list[str]
    handle: str


def add_moderator(client: TestClient, settings: Settings, handle: str, role: str = "moderator"):
    moderators = Moderators(secret=settings.with_secret_key().key)
    return client.blocking_portal.call(moderators.add, handle, PASSWORD, role)


def next_code(totp: pyotp.TOTP, steps: int = 0) -> str:
    """A code ``steps`` 30-second steps from now (each step's code is accepted once)."""
    return totp.at(time.time() + 30 * steps)


def password_login(client: TestClient, handle: str, password: str = PASSWORD):
    return client.post(
        "/moderation/login",
        data={"handle": handle, "password": password},
        follow_redirects=False,
    )


def enrol(client: TestClient) -> tuple[pyotp.TOTP, list[str]]:
    """Set up TOTP from the enrolment page, as a moderator with an app would."""
    enrol_page = client.get("/moderation/enrol")
    assert enrol_page.status_code == 200, enrol_page.text
    secret = re.search(r'<code class="key" id="secret">([A-Z2-7]+)</code>', enrol_page.text)
    totp = pyotp.TOTP(secret.group(1))
    done = client.post("/moderation/enrol", data={"code": next_code(totp)})
    assert done.status_code == 200, done.text
    codes = re.findall(r"<li><code>([a-z0-9-]{19})</code></li>", done.text)
    return totp, codes


def log_in(client: TestClient, settings: Settings, handle: str = "mod-one", role="moderator"):
    """A new moderator, logged in on ``client`` (password, then TOTP enrolment)."""
    add_moderator(client, settings, handle, role)
    assert password_login(client, handle).headers["location"] == "/moderation/enrol"
    totp, codes = enrol(client)
    return LoggedIn(client, totp, codes, handle)


@pytest.fixture
def moderator(client: TestClient, settings: Settings) -> LoggedIn:
    """The ``client`` logged in as a moderator."""
    return log_in(client, settings)


class Anonymous:
    """Requests through ``client`` without its cookies: an anonymous reader of the same
    app. (One app per test: two apps on one PostgreSQL database would share a pool
    across event loops.)"""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def request(self, method: str, url: str, **kwargs):
        headers = {**kwargs.pop("headers", {}), "Cookie": ""}
        return self.client.request(method, url, headers=headers, **kwargs)

    def get(self, url: str, **kwargs):
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs):
        return self.request("POST", url, **kwargs)


@pytest.fixture
def reader(client: TestClient) -> Anonymous:
    """An anonymous reader on the same app as ``client``."""
    return Anonymous(client)


def new_thread(client: TestClient, body: str = "An opening post.", **extra) -> dict:
    created = client.post(
        "/api/v1/threads",
        json={"title": "A thread to moderate", "category": "coaching", "body": body, **extra},
    )
    assert created.status_code == 201, created.text
    return created.json()


def reply(client: TestClient, thread_id: str, body: str = "A reply.", **extra) -> dict:
    created = client.post(f"/api/v1/threads/{thread_id}/posts", json={"body": body, **extra})
    assert created.status_code == 201, created.text
    return created.json()
