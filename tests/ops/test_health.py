"""/healthz says the process is alive; /readyz says whether requests can succeed."""

from __future__ import annotations

import asyncio
import os

import pytest
import redis
from litestar.testing import TestClient

from offramp.app import create_app
from offramp.config import Settings
from offramp.ops import health

REDIS_URL = os.environ.get("OFFRAMP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
NOWHERE = "redis://127.0.0.1:9/0"  # the discard port: nothing listens there


def redis_or_skip() -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {REDIS_URL} is unreachable: {exc}")
        pytest.skip(f"Redis at {REDIS_URL} is unreachable: {exc}")
    finally:
        client.close()


def test_a_migrated_database_is_ready(client: TestClient):
    answer = client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok"},
    }
    assert answer.headers["cache-control"] == "no-store"


def test_redis_is_checked_when_configured(settings: Settings):
    redis_or_skip()
    with TestClient(create_app(settings.model_copy(update={"redis_url": REDIS_URL}))) as client:
        answer = client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json()["checks"]["redis"] == "ok"


def test_unreachable_redis_is_named_without_its_address(settings: Settings):
    with TestClient(create_app(settings.model_copy(update={"redis_url": NOWHERE}))) as client:
        answer = client.get("/readyz")
        alive = client.get("/healthz")
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "not ready"
    assert list(body["not_ready"]) == ["redis"]
    assert body["not_ready"]["redis"].startswith("unreachable")
    assert "127.0.0.1" not in answer.text and ":9" not in answer.text
    assert alive.status_code == 200  # liveness does no I/O


def test_a_pending_migration_is_named(client: TestClient, monkeypatch: pytest.MonkeyPatch):
    shipped = health.known_migrations()
    monkeypatch.setattr(
        health, "known_migrations", lambda: shipped | {("forum", "2099-01-01T00:00:00:000000")}
    )
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["not_ready"] == {"migrations": "1 pending: run `offramp migrate`"}


def test_an_unanswering_database_is_named(client: TestClient, monkeypatch: pytest.MonkeyPatch):
    async def refused() -> set:
        raise ConnectionRefusedError("connection to server at 10.9.8.7 refused")

    monkeypatch.setattr(health, "applied_migrations", refused)
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["not_ready"] == {
        "database": "unreachable (ConnectionRefusedError)",
        "migrations": "unknown (no database)",
    }
    assert "10.9.8.7" not in answer.text
    assert client.get("/healthz").status_code == 200


def test_a_slow_database_times_out(client: TestClient, monkeypatch: pytest.MonkeyPatch):
    async def hangs() -> set:
        await asyncio.sleep(60)
        return set()

    monkeypatch.setattr(health, "CHECK_TIMEOUT_S", 0.05)
    monkeypatch.setattr(health, "applied_migrations", hangs)
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["not_ready"]["database"] == "no answer within 0.05 s"
