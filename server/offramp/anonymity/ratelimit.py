"""Per-action rate limits without tracking (SPEC §3.2, §3.9).

A client is known only as ``HMAC(salt, address)``. The salt is 32 random bytes
made fresh each UTC day, held in process memory or in the shared store with a
time-to-live, never on disk; yesterday's salt is consulted only until the
longest window that started before midnight has closed, then forgotten, so
nobody — us included — can link today's buckets to yesterday's.
``X-Forwarded-For`` is believed only when the connection comes from a
configured proxy address.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from offramp.anonymity.stores import Store


@dataclass(frozen=True)
class Limit:
    count: int
    window_s: int

    def describe(self) -> str:
        if self.window_s % 3600 == 0:
            hours = self.window_s // 3600
            span = "hour" if hours == 1 else f"{hours} hours"
        else:
            minutes = max(1, self.window_s // 60)
            span = "minute" if minutes == 1 else f"{minutes} minutes"
        return f"{self.count} per {span}"


# Generous for people, tight for scripts. Without proof-of-work (no JavaScript, or
# an API client that does not solve challenges) the writing limits are halved.
DEFAULT_LIMITS: dict[str, Limit] = {
    "thread": Limit(8, 3600),
    "reply": Limit(40, 3600),
    "edit_key": Limit(30, 600),
    "survey": Limit(10, 3600),
    "report": Limit(20, 3600),
    "search": Limit(60, 60),
    "preview": Limit(120, 600),
    "persona_create": Limit(5, 3600),
    "persona_login": Limit(10, 900),
    "moderator_login": Limit(10, 900),
}
WRITE_ACTIONS = {"thread", "reply", "survey", "report", "persona_create"}

DAY_S = 86_400


class RateLimitConfigError(ValueError):
    pass


def parse_limits(spec: str) -> dict[str, Limit] | None:
    """``on`` (defaults), ``off`` (None), or overrides like ``thread=5/3600,reply=30/3600``."""
    text = spec.strip().lower()
    if text == "off":
        return None
    limits = dict(DEFAULT_LIMITS)
    if text in ("", "on"):
        return limits
    for part in text.split(","):
        action, _, rule = part.strip().partition("=")
        count, _, window = rule.partition("/")
        if action not in DEFAULT_LIMITS or not count.isdigit() or not window.isdigit():
            raise RateLimitConfigError(
                f"'{part.strip()}' is not ACTION=COUNT/SECONDS with ACTION one of "
                + ", ".join(sorted(DEFAULT_LIMITS))
            )
        limits[action] = Limit(int(count), int(window))
    return limits


def parse_networks(spec: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks = []
    for part in spec.split(","):
        if part.strip():
            networks.append(ipaddress.ip_network(part.strip(), strict=False))
    return networks


def client_address(peer: str | None, forwarded_for: str | None, trusted: list) -> str:
    """The client's address: the peer, or — only when the peer is a trusted proxy —
    the nearest address in X-Forwarded-For that is not itself a trusted proxy."""
    address = peer or "unknown"
    if not forwarded_for or not is_within(address, trusted):
        return address
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        address = hop
        if not is_within(hop, trusted):
            break
    return address


def is_within(address: str, networks: list) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_s: int
    limit: Limit | None


class SaltKeeper:
    """Today's salt (and yesterday's, briefly), shared through the store."""

    def __init__(self, store: Store, clock=time.time) -> None:
        self._store = store
        self._clock = clock
        self._cache: dict[str, bytes] = {}

    def day(self, offset: int = 0) -> str:
        moment = datetime.fromtimestamp(self._clock() + offset * DAY_S, UTC)
        return moment.strftime("%Y-%m-%d")

    async def salt(self, day: str, create: bool = True) -> bytes | None:
        if day in self._cache:
            return self._cache[day]
        key = f"salt:{day}"
        if create:
            # Lives until the end of the next day at most: long enough for the
            # previous-salt check, gone well before anyone could want it.
            await self._store.set_if_absent(key, secrets.token_hex(32), 2 * DAY_S)
        value = await self._store.get(key)
        if value is None:
            return None
        salt = bytes.fromhex(value)
        self._cache = {d: s for d, s in self._cache.items() if d >= self.day(-1)}
        self._cache[day] = salt
        return salt

    def forget_cached(self) -> None:
        self._cache.clear()


class RateLimiter:
    def __init__(self, store: Store, limits: dict[str, Limit] | None, clock=time.time) -> None:
        self.store = store
        self.limits = limits
        self.salts = SaltKeeper(store, clock)
        self._clock = clock

    @property
    def enabled(self) -> bool:
        return self.limits is not None

    def limit_for(self, action: str, proof_of_work: bool, scale: int = 1) -> Limit | None:
        if self.limits is None:
            return None
        limit = self.limits[action]
        if action in WRITE_ACTIONS and not proof_of_work:
            limit = Limit(max(1, limit.count // 2), limit.window_s)
        return Limit(limit.count * scale, limit.window_s) if scale != 1 else limit

    async def hit(
        self, action: str, address: str, proof_of_work: bool = False, scale: int = 1
    ) -> Decision:
        """Count one ``action`` by ``address`` (or another subject); say whether it is
        within the limit (``scale`` times the configured one, for shared ceilings)."""
        limit = self.limit_for(action, proof_of_work, scale)
        if limit is None:
            return Decision(True, 0, None)
        now = self._clock()
        window = int(now // limit.window_s)
        retry_after = int((window + 1) * limit.window_s - now) + 1
        today = self.salts.day()
        salt = await self.salts.salt(today)
        assert salt is not None
        count = await self.store.incr(self._key(action, window, salt, address), limit.window_s)
        seconds_into_day = now % DAY_S
        if seconds_into_day < limit.window_s:  # the window began yesterday: count that too
            previous = await self.salts.salt(self.salts.day(-1), create=False)
            if previous is not None:
                count += await self.store.get_int(self._key(action, window, previous, address))
        return Decision(count <= limit.count, retry_after, limit)

    @staticmethod
    def _key(action: str, window: int, salt: bytes, address: str) -> str:
        client = hmac.new(salt, address.encode(), hashlib.sha256).hexdigest()[:32]
        return f"rl:{action}:{window}:{client}"
