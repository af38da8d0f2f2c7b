"""`offramp moderator add | disable`, run as an operator would (a script, no terminal)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from litestar.testing import TestClient

from offramp.app import create_app
from offramp.config import Settings

from ..conftest import ORIGIN
from .conftest import PASSWORD, enrol, password_login


def moderator_command(settings: Settings, *args: str, password: str | None = None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OFFRAMP_")}
    env |= {
        "OFFRAMP_DATA_DIR": str(settings.data_dir),
        "OFFRAMP_DATABASE_URL": settings.resolved_database_url,
        "OFFRAMP_SECRET_KEY": settings.secret_key or "",
    }
    return subprocess.run(
        [sys.executable, "-m", "offramp", "moderator", *args],
        input=None if password is None else password + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_add_reads_one_line_of_stdin_and_disable_ends_sessions(settings: Settings):
    added = moderator_command(settings, "add", "cli-mod", "--role", "admin", password=PASSWORD)
    assert added.returncode == 0, added.stderr
    assert "cli-mod added (admin)" in added.stdout and PASSWORD not in added.stdout
    assert added.stderr == ""  # a long password needs no advice
    twice = moderator_command(settings, "add", "cli-mod", password=PASSWORD)
    assert twice.returncode != 0 and "exists" in twice.stderr

    with TestClient(create_app(settings), base_url=ORIGIN) as client:
        client.headers["Origin"] = ORIGIN
        assert password_login(client, "cli-mod").headers["location"] == "/moderation/enrol"
        enrol(client)
        assert client.get("/moderation/queue").status_code == 200
        disabled = moderator_command(settings, "disable", "cli-mod")
        assert disabled.returncode == 0, disabled.stderr
        assert client.get("/moderation/queue", follow_redirects=False).status_code == 303
        assert password_login(client, "cli-mod").status_code == 401


def test_reset_totp_makes_the_moderator_enrol_again(settings: Settings):
    added = moderator_command(settings, "add", "lost-phone", password=PASSWORD)
    assert added.returncode == 0, added.stderr
    with TestClient(create_app(settings), base_url=ORIGIN) as client:
        client.headers["Origin"] = ORIGIN
        password_login(client, "lost-phone")
        old_totp, old_codes = enrol(client)
        assert client.get("/moderation/queue").status_code == 200
        reset = moderator_command(settings, "reset-totp", "lost-phone")
        assert reset.returncode == 0, reset.stderr
        assert "enrol a new authenticator" in reset.stdout
        assert client.get("/moderation/queue", follow_redirects=False).status_code == 303
        # The password alone leads to a new enrolment, never to the queue; the old
        # recovery codes are gone.
        assert password_login(client, "lost-phone").headers["location"] == "/moderation/enrol"
        new_totp, _ = enrol(client)
        assert new_totp.secret != old_totp.secret
        assert client.get("/moderation/queue").status_code == 200
        client.post("/moderation/logout")
        assert password_login(client, "lost-phone").headers["location"] == "/moderation/login/code"
        used = client.post("/moderation/login/code", data={"code": old_codes[0]})
        assert used.status_code == 401
    unknown = moderator_command(settings, "reset-totp", "nobody-here")
    assert unknown.returncode != 0 and "no moderator" in unknown.stderr


@pytest.mark.parametrize(
    ("password", "accepted", "says"),
    [
        ("eleven char", False, "12 to 256 characters"),
        ("twelve chars", True, "15 or more characters are recommended"),
        ("p" * 257, False, "12 to 256 characters"),
    ],
)
def test_password_length_is_enforced_and_advised(settings, password, accepted, says):
    result = moderator_command(settings, "add", "short-pw", password=password)
    assert (result.returncode == 0) is accepted, result.stderr
    assert says in result.stderr


def test_disabling_an_unknown_moderator_fails_clearly(settings: Settings):
    result = moderator_command(settings, "disable", "nobody-here")
    assert result.returncode != 0 and "no moderator with that handle" in result.stderr
