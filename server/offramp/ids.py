"""Random public ids and hour-truncated times (SPEC §3.5: correlation resistance)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

# Lower-case letters and digits without the look-alikes 0/o and 1/l: 32 symbols,
# so 12 characters carry 60 random bits.
_ALPHABET = "23456789abcdefghijkmnpqrstuvwxyz"
assert len(_ALPHABET) == 32


def new_id(length: int = 12) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def this_hour(now: datetime | None = None) -> datetime:
    """Now (or ``now``), in UTC, with minutes, seconds and microseconds dropped."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return moment.replace(minute=0, second=0, microsecond=0)
