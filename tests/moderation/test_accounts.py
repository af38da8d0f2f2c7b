"""Moderator accounts: argon2id passwords at OWASP strength, TOTP with a known secret,
single-use codes, recovery codes and server-side sessions."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from argon2 import PasswordHasher, extract_parameters

from offramp.errors import Conflict, Invalid, NotFound, Unauthorized
from offramp.forum.service import Forum
from offramp.moderation.accounts import (
    HASHER,
    Identity,
    Moderators,
    check_password,
    password_advice,
)
from offramp.moderation.tables import Moderator, ModeratorSession, RecoveryCode

from ..conftest import TEST_SECRET

PASSWORD = "a long and boring moderator password"


@pytest.fixture
def moderators(forum: Forum) -> Moderators:
    return Moderators(secret=TEST_SECRET.encode())


async def enrolled(
    moderators: Moderators, handle: str = "mod-one"
) -> tuple[Identity, pyotp.TOTP, str]:
    """A moderator who has set up TOTP, a verified session of theirs, and the code that
    finished the enrolment."""
    await moderators.add(handle, PASSWORD)
    identity = await moderators.session(await moderators.login(handle, PASSWORD))
    enrolment = await moderators.enrolment(identity)
    totp = pyotp.TOTP(enrolment.secret)
    code = totp.now()
    token, _ = await moderators.finish_enrolment(identity, code)
    return await moderators.session(token), totp, code


def code_in(totp: pyotp.TOTP, steps: int) -> str:
    return totp.at(time.time() + 30 * steps)


async def test_passwords_are_argon2id_at_owasp_strength_or_more(moderators: Moderators):
    await moderators.add("mod-one", PASSWORD)
    row = await Moderator.select().first()
    assert PASSWORD not in str(row)
    parameters = extract_parameters(row["password_hash"])
    assert parameters.type.name == "ID"
    # OWASP: at least 19 MiB with 2 passes (or 46 MiB with 1 pass).
    assert parameters.memory_cost >= 19 * 1024 and parameters.time_cost >= 2


async def test_password_length_is_checked_and_short_ones_are_discouraged(
    moderators: Moderators,
):
    with pytest.raises(Invalid):
        await moderators.add("mod-one", "eleven char")
    with pytest.raises(Invalid):
        check_password("p" * 257)
    assert check_password("twelve chars") == "twelve chars"
    assert "15 or more" in password_advice("twelve chars")
    assert password_advice("fifteen characters") is None
    await moderators.add("mod-one", "p" * 256, role="admin")
    with pytest.raises(Conflict):
        await moderators.add("MOD-ONE", PASSWORD)
    with pytest.raises(Invalid):
        await moderators.add("mod-two", PASSWORD, role="owner")


async def test_wrong_unknown_and_disabled_logins_fail_alike(moderators: Moderators):
    await moderators.add("mod-one", PASSWORD)
    failures = []
    for handle, password in (("mod-one", "not the password"), ("nobody", PASSWORD)):
        with pytest.raises(Unauthorized) as failed:
            await moderators.login(handle, password)
        failures.append(failed.value.message)
    await moderators.disable("mod-one")
    with pytest.raises(Unauthorized) as disabled:
        await moderators.login("mod-one", PASSWORD)
    assert failures[0] == failures[1] == disabled.value.message
    with pytest.raises(NotFound):
        await moderators.disable("nobody")


async def test_the_password_is_rehashed_when_the_parameters_change(moderators: Moderators):
    await moderators.add("mod-one", PASSWORD)
    weaker = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
    await Moderator.update({Moderator.password_hash: weaker.hash(PASSWORD)}, force=True)
    await moderators.login("mod-one", PASSWORD)
    stored = (await Moderator.select(Moderator.password_hash).first())["password_hash"]
    assert not HASHER.check_needs_rehash(stored)
    assert extract_parameters(stored).memory_cost == HASHER.memory_cost


async def test_a_password_alone_gives_an_unverified_session_until_totp(
    moderators: Moderators,
):
    await moderators.add("mod-one", PASSWORD)
    token = await moderators.login("mod-one", PASSWORD)
    identity = await moderators.session(token)
    assert identity is not None and not identity.verified and not identity.totp_enabled
    with pytest.raises(Conflict):
        await moderators.second_factor(identity, "123456")

    enrolment = await moderators.enrolment(identity)
    assert enrolment.uri.startswith("otpauth://totp/Offramp:mod-one?secret=")
    assert enrolment.qr_svg.startswith("<svg") and "<title>" in enrolment.qr_svg
    again = await moderators.enrolment(identity)
    assert again.secret == enrolment.secret  # reloading the page shows the same code
    stored = (await Moderator.select(Moderator.totp_secret).first())["totp_secret"]
    assert enrolment.secret not in stored  # kept encrypted

    totp = pyotp.TOTP(enrolment.secret)
    with pytest.raises(Unauthorized):
        await moderators.finish_enrolment(identity, "000000" if totp.now() != "000000" else "1")
    verified_token, codes = await moderators.finish_enrolment(identity, totp.now())
    assert len(codes) == 10 and len(set(codes)) == 10
    assert await moderators.session(token) is None  # the token changed at verification
    verified = await moderators.session(verified_token)
    assert verified.verified and verified.totp_enabled
    stored_codes = [row["code_hash"] for row in await RecoveryCode.select()]
    assert not set(codes) & set(stored_codes)
    with pytest.raises(Conflict):
        await moderators.enrolment(verified)


async def test_totp_codes_are_accepted_once_and_within_one_step(moderators: Moderators):
    _, totp, used = await enrolled(moderators)
    # The enrolment used this step's code: the same code cannot log in again.
    pending = await moderators.session(await moderators.login("mod-one", PASSWORD))
    with pytest.raises(Unauthorized):
        await moderators.second_factor(pending, used)
    with pytest.raises(Unauthorized):
        await moderators.second_factor(pending, code_in(totp, 5))  # far in the future
    token = await moderators.second_factor(pending, code_in(totp, 1))
    assert (await moderators.session(token)).verified
    again = await moderators.session(await moderators.login("mod-one", PASSWORD))
    with pytest.raises(Unauthorized):
        await moderators.second_factor(again, code_in(totp, 1))  # replayed


async def test_recovery_codes_work_once_and_can_be_replaced(moderators: Moderators):
    await moderators.add("mod-one", PASSWORD)
    identity = await moderators.session(await moderators.login("mod-one", PASSWORD))
    totp = pyotp.TOTP((await moderators.enrolment(identity)).secret)
    _, codes = await moderators.finish_enrolment(identity, totp.now())
    pending = await moderators.session(await moderators.login("mod-one", PASSWORD))
    token = await moderators.second_factor(pending, codes[0].upper().replace("-", " "))
    verified = await moderators.session(token)
    assert verified.verified
    pending = await moderators.session(await moderators.login("mod-one", PASSWORD))
    with pytest.raises(Unauthorized):
        await moderators.second_factor(pending, codes[0])
    assert (await moderators.account(verified.moderator_id)).recovery_codes_left == 9

    with pytest.raises(Unauthorized):
        await moderators.new_recovery_codes(verified, "not a code")
    fresh = await moderators.new_recovery_codes(verified, code_in(totp, 1))
    assert not set(fresh) & set(codes)
    with pytest.raises(Unauthorized):
        await moderators.second_factor(pending, codes[1])  # the old ones are gone
    assert await moderators.second_factor(pending, fresh[0])


async def test_sessions_are_hashed_expire_and_end_everywhere(moderators: Moderators):
    identity, totp, _ = await enrolled(moderators)
    assert identity.token not in str(await ModeratorSession.select())
    second = await moderators.second_factor(
        await moderators.session(await moderators.login("mod-one", PASSWORD)), code_in(totp, 1)
    )
    account = await moderators.account(identity.moderator_id)
    assert account.sessions == 2 and account.role == "moderator"

    await moderators.logout(identity.token)
    assert await moderators.session(identity.token) is None
    assert await moderators.session(second) is not None
    await ModeratorSession.update(
        {ModeratorSession.expires_at: datetime.now(UTC) - timedelta(seconds=1)}
    ).where(ModeratorSession.id.is_not_null())
    assert await moderators.session(second) is None

    await Moderator.update({Moderator.totp_last_step: 0}, force=True)  # as if time passed
    third = await moderators.second_factor(
        await moderators.session(await moderators.login("mod-one", PASSWORD)), totp.now()
    )
    await moderators.logout_everywhere(identity.moderator_id)
    assert await moderators.session(third) is None


async def test_disabling_ends_every_session(moderators: Moderators):
    identity, _, _ = await enrolled(moderators)
    await moderators.disable("MOD-ONE")
    assert await moderators.session(identity.token) is None
    assert await ModeratorSession.count() == 0


async def test_sessions_last_hours_and_half_logins_minutes(moderators: Moderators):
    identity, _, _ = await enrolled(moderators)
    await moderators.login("mod-one", PASSWORD)
    rows = await ModeratorSession.select().order_by(ModeratorSession.expires_at)
    now = datetime.now(UTC)
    pending, verified = rows[0], rows[1]
    assert not pending["verified"] and pending["expires_at"] - now <= timedelta(minutes=10)
    assert verified["verified"] and timedelta(hours=7) < verified["expires_at"] - now
    assert verified["expires_at"] - now <= timedelta(hours=8)
