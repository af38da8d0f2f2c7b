"""Onion-aware limits (``OFFRAMP_ONION``): behind Tor every client arrives from the
proxy with the same address. Requests the proxy marks as onion are limited by what
each client proves — a fresh proof-of-work or the signed token of its form — under a
shared ceiling, so one abuser cannot use up everyone's budget and nobody gets more
by replaying a proof."""

from __future__ import annotations

import re

import pytest
from litestar.testing import TestClient

from offramp.app import create_app
from offramp.config import Settings

from ..conftest import ORIGIN
from .test_abuse_http import THREAD, solve

PROXY = "127.0.0.1"  # the onion server of deploy/nginx/onion.conf, trusted
ONION = {"X-Offramp-Onion": "1", "X-Forwarded-For": "127.0.0.1"}  # what tor + nginx send


class FromProxy:
    """Every connection arrives from ``address``, as behind a reverse proxy."""

    def __init__(self, app, address: str = PROXY) -> None:
        self.app, self.address = app, address

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            scope = {**scope, "client": (self.address, 41000)}
        await self.app(scope, receive, send)


def onion_site(settings: Settings, peer: str = PROXY, **overrides) -> TestClient:
    """The app in onion-aware mode: threads 2 per hour (1 without proof-of-work)."""
    changes = {
        "rate_limits": "thread=2/3600",
        "trusted_proxies": PROXY,
        "onion": True,
        "onion_ceiling": 3,
        "proof_of_work_cost": 1000,
        "form_min_seconds": 0,
        **overrides,
    }
    app = create_app(settings.model_copy(update=changes))
    client = TestClient(FromProxy(app, peer), base_url=ORIGIN)
    client.headers["Origin"] = ORIGIN
    return client


def post_with_proof(site: TestClient, headers: dict, proof: str | None = None) -> tuple[int, str]:
    """A new thread through the API with a proof-of-work (a fresh one unless given)."""
    proof = proof or solve(site.get("/api/v1/pow/challenge").json())
    response = site.post(
        "/api/v1/threads", json=THREAD, headers={**headers, "X-Proof-Of-Work": proof}
    )
    return response.status_code, proof


def fresh_form_token(site: TestClient) -> str:
    page = site.get("/new", headers=ONION).text
    return re.search(r'name="form_token" value="([^"]+)"', page).group(1)


def post_form(site: TestClient, token: str) -> int:
    data = {**THREAD, "action": "publish", "form_token": token}
    return site.post("/new", data=data, headers=ONION).status_code


def test_onion_clients_with_their_own_proof_do_not_share_one_bucket(settings):
    with onion_site(settings) as site:
        # Three clients, one proof each; the address's own bucket (2) would stop the third.
        assert [post_with_proof(site, ONION)[0] for _ in range(3)] == [201, 201, 201]
    # The same requests without the onion marker share the proxy address's bucket.
    with onion_site(settings, rate_limits="thread=2/3600") as site:
        clearnet = {"X-Forwarded-For": "127.0.0.1"}
        assert [post_with_proof(site, clearnet)[0] for _ in range(3)] == [201, 201, 429]


def test_onion_form_clients_each_count_against_their_own_form_token(settings):
    with onion_site(settings) as site:
        first, second = fresh_form_token(site), fresh_form_token(site)
        assert first != second, "every form rendered gets its own token"
        assert post_form(site, first) == 201
        assert post_form(site, second) == 201  # another client: its own bucket
        assert post_form(site, first) == 429  # 1 per hour without proof-of-work


def test_replaying_a_proof_or_a_token_gets_nothing_extra(settings):
    with onion_site(settings, onion_ceiling=50) as site:
        status, proof = post_with_proof(site, ONION)
        assert status == 201
        # A spent proof is no proof: the replays fall into the one shared bucket of
        # clients that prove nothing (1 per hour), whatever the number of tries.
        replays = [post_with_proof(site, ONION, proof)[0] for _ in range(4)]
        assert replays == [201, 429, 429, 429]
        token = fresh_form_token(site)
        assert [post_form(site, token) for _ in range(3)] == [201, 429, 429]
        # An invented token opens no bucket of its own.
        assert post_form(site, "1700000000.0123456789abcdef.ffffffffffffffff") == 201  # decoy
        api = site.post("/api/v1/threads", json=THREAD, headers=ONION)
        assert api.status_code == 429  # no proof: the shared bucket, already used
    assert_threads(settings, expected=3)


def test_the_onion_ceiling_holds_for_everyone_together(settings):
    # Ceiling 3 x the limit of 2 = 6 threads per hour for all onion clients together.
    with onion_site(settings, onion_ceiling=3) as site:
        statuses = [post_with_proof(site, ONION)[0] for _ in range(7)]
        assert statuses == [201] * 6 + [429]
        assert post_form(site, fresh_form_token(site)) == 429
        # A client reaching the site directly (not through the onion server) has its
        # own address and is not held back by the onion ceiling.
        direct = {"X-Forwarded-For": "198.51.100.20"}
        assert post_with_proof(site, direct)[0] == 201


def test_the_onion_marker_is_believed_only_from_a_trusted_proxy(settings):
    with onion_site(settings, peer="192.0.2.9") as site:  # not the proxy
        assert [post_with_proof(site, ONION)[0] for _ in range(3)] == [201, 201, 429]


def test_onion_mode_needs_a_trusted_proxy(settings):
    with pytest.raises(ValueError, match="onion: OFFRAMP_ONION=true needs OFFRAMP_TRUSTED_PROXIES"):
        Settings(**{**settings.model_dump(), "onion": True, "trusted_proxies": ""})


def assert_threads(settings: Settings, expected: int) -> None:
    with TestClient(create_app(settings), base_url=ORIGIN) as reader:
        assert len(reader.get("/api/v1/threads").json()["threads"]) == expected
