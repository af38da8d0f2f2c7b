"""Moderators for the page inventory's moderator stage (tests/judges/inventory.py):
two accounts made through the service, and the codes their forms need."""

from __future__ import annotations

import time

import pyotp
from litestar.testing import TestClient

from offramp.config import Settings
from offramp.moderation.accounts import Moderators

PASSWORD = "the judges' moderator password"
NEW_MODERATOR = "judge-new"  # logs in for the first time: sets up TOTP on the web
MODERATOR = "judge-mod"  # has set up TOTP already


def moderator_fields(client: TestClient, settings: Settings) -> dict[str, str]:
    """Make both moderators; return what their forms are filled in with: a current code
    for the new one's pending secret, a recovery code and a next code for the other."""
    moderators = Moderators(secret=settings.with_secret_key().key)

    async def make() -> dict[str, str]:
        await moderators.add(NEW_MODERATOR, PASSWORD)
        new = await moderators.session(await moderators.login(NEW_MODERATOR, PASSWORD))
        pending = pyotp.TOTP((await moderators.enrolment(new)).secret)
        await moderators.logout(new.token)

        await moderators.add(MODERATOR, PASSWORD)
        identity = await moderators.session(await moderators.login(MODERATOR, PASSWORD))
        totp = pyotp.TOTP((await moderators.enrolment(identity)).secret)
        token, codes = await moderators.finish_enrolment(identity, totp.now())
        await moderators.logout(token)
        return {
            "new_moderator_code": pending.now(),
            "moderator_recovery_code": codes[0],
            # The step after the one enrolment used: accepted once, within a step of now.
            "moderator_code": totp.at(time.time() + totp.interval),
        }

    return client.blocking_portal.call(make)
