"""/metrics: requests and latency by route template, readable only from configured
addresses and never through a proxy, holding nothing about clients."""

from __future__ import annotations

from litestar.testing import TestClient
from prometheus_client import REGISTRY

from offramp.app import create_app
from offramp.config import Settings

from ..anonymity.test_privacy import FromAddress

MONITOR = "10.20.30.40"  # the Prometheus server's address in these tests
CANARY_AGENT = "MetricsCanary/2.0 (offramp-metrics-canary)"
SECRET_SEARCH = "my-employer-name-secret"


def client_from(settings: Settings, address: str) -> TestClient:
    app = create_app(settings.model_copy(update={"metrics_addresses": f"{MONITOR}/32"}))
    return TestClient(FromAddress(app, address), base_url="http://offramp.test")


def test_metrics_count_requests_by_route_template_and_nothing_else(settings: Settings):
    with client_from(settings, MONITOR) as client:
        client.headers["User-Agent"] = CANARY_AGENT
        created = client.post(
            "/api/v1/threads",
            json={"title": "Counted, not named", "category": "coaching", "body": "Hello."},
        )
        thread_id = created.json()["thread"]["id"]
        assert client.get(created.json()["thread"]["url"]).status_code == 200
        client.get("/c/coaching", params={"q": SECRET_SEARCH})
        client.get(f"/no/such/page/{SECRET_SEARCH}")
        answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    text = answer.text
    assert 'offramp_requests_total{app_name="offramp",method="POST",path="/api/v1/threads"' in text
    assert "offramp_request_duration_seconds_bucket{" in text
    assert 'method="GET",path="/threads/{thread_id}",status_code="200"' in text
    assert 'method="GET",path="/c/{slug}",status_code="200"' in text
    for secret in (thread_id, SECRET_SEARCH, CANARY_AGENT, "metrics-canary", MONITOR, "no/such"):
        assert secret not in text, secret


def test_metrics_are_hidden_from_other_addresses_and_through_proxies(settings: Settings):
    with client_from(settings, "203.0.113.5") as elsewhere:
        assert elsewhere.get("/metrics").status_code == 404
    with client_from(settings, MONITOR) as monitor:
        proxied = monitor.get("/metrics", headers={"X-Forwarded-For": MONITOR})
        assert proxied.status_code == 404
        assert monitor.get("/metrics").status_code == 200


def test_no_addresses_means_no_metrics(settings: Settings):
    app = create_app(settings.model_copy(update={"metrics_addresses": ""}))
    with TestClient(FromAddress(app, "127.0.0.1")) as client:
        assert client.get("/metrics").status_code == 404
    assert all(not route.path.startswith("/metrics") for route in app.routes)


def test_the_statistics_rebuild_is_measured():
    from offramp.ops.metrics import record_statistics_rebuild

    before = REGISTRY.get_sample_value("offramp_statistics_rebuilds_total") or 0
    record_statistics_rebuild(1.25)
    assert REGISTRY.get_sample_value("offramp_statistics_rebuilds_total") == before + 1
    assert REGISTRY.get_sample_value("offramp_statistics_rebuild_seconds") == 1.25
