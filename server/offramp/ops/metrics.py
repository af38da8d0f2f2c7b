"""``/metrics``: how the service is doing, in Prometheus' text format, and nothing
about who uses it.

Litestar's Prometheus plugin counts requests and times them, labelled by method,
route *template* (``/t/{thread_id:str}``, never the address asked for), status code
and app name; requests for paths no route knows are not recorded at all, so
whatever a scanner tries never becomes a label. The statistics rebuild adds its
duration. No label or value holds an address, a user agent, a query string or an id.

Only the addresses in ``OFFRAMP_METRICS_ADDRESSES`` may read ``/metrics``, and only
directly: a request that came through a proxy (it carries ``X-Forwarded-For``) is
refused even from an allowed address. Everyone else gets a plain 404.

Each process keeps its own figures: run one worker per instance (as ``deploy/`` does)
and let Prometheus scrape every instance.
"""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException
from litestar.handlers import BaseRouteHandler
from litestar.middleware import DefineMiddleware
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from prometheus_client import Counter, Gauge

from offramp.anonymity.ratelimit import is_within, parse_networks

PREFIX = "offramp"
METRICS_PATH = "/metrics"

STATISTICS_REBUILD_SECONDS = Gauge(
    f"{PREFIX}_statistics_rebuild_seconds",
    "How long the last statistics rebuild on this instance took, in seconds",
)
STATISTICS_REBUILDS = Counter(
    f"{PREFIX}_statistics_rebuilds",
    "Statistics rebuilds run by this instance",
)


def _config() -> PrometheusConfig:
    return PrometheusConfig(
        app_name=PREFIX,
        prefix=PREFIX,
        group_path=True,  # label by route template, never by the address asked for
        exclude_unhandled_paths=True,  # unknown paths never become labels
        exclude=[f"^{METRICS_PATH}$"],
    )


def metrics_middleware(addresses: str) -> list[DefineMiddleware]:
    """The request counter, or nothing when ``/metrics`` is switched off."""
    return [_config().middleware] if addresses.strip() else []


def metrics_handlers(addresses: str) -> list[type[PrometheusController]]:
    """The ``/metrics`` controller, readable from ``addresses`` only; nothing when
    ``addresses`` is empty."""
    if not addresses.strip():
        return []
    allowed = parse_networks(addresses)

    def only_allowed_addresses(connection: ASGIConnection, _handler: BaseRouteHandler) -> None:
        peer = connection.client.host if connection.client else ""
        if "x-forwarded-for" in connection.headers or not is_within(peer, allowed):
            raise NotFoundException()

    class Metrics(PrometheusController):
        path = METRICS_PATH
        guards = [only_allowed_addresses]
        include_in_schema = False

    return [Metrics]


def record_statistics_rebuild(seconds: float) -> None:
    STATISTICS_REBUILDS.inc()
    STATISTICS_REBUILD_SECONDS.set(seconds)
