"""Settings: one frozen object built from ``OFFRAMP_*`` environment variables.

Nothing here runs at import time. ``Settings.load()`` reads the environment once
(the CLI does this); tests build ``Settings(...)`` with their own values.
Every field's description is the documentation: the README's configuration
table is checked against it by ``tests/test_docs.py``.
"""

from __future__ import annotations

import os
import secrets
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(StrEnum):
    development = "development"
    production = "production"


class ConfigurationError(RuntimeError):
    """Raised when the settings cannot make a safe, working server."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OFFRAMP_", frozen=True, extra="forbid")

    env: Environment = Field(
        Environment.development,
        description="`development` or `production`. Production refuses to start without a "
        "secret key.",
    )
    data_dir: Path = Field(
        Path("data"),
        description="Directory for the embedded SQLite database and, in development, the "
        "generated secret key.",
    )
    database_url: str | None = Field(
        None,
        description="`sqlite:///path/to/file.sqlite3` or `postgresql://user@host:port/db`. "
        "Default: `offramp.sqlite3` in the data directory.",
    )
    read_replica_urls: str = Field(
        "",
        description="Comma-separated `postgresql://` URLs of streaming replicas of the "
        "database. Plain reads of GET requests go to a replica that has replayed the last "
        "write (so a poster always sees their own post); everything else to the primary. "
        "With several instances set `OFFRAMP_REDIS_URL` too, so they share the last-write "
        "mark. Empty: no replicas.",
    )
    secret_key: str | None = Field(
        None,
        description="Secret for pseudonyms and signatures (at least 32 characters). Required "
        "in production; in development generated once into `DATA_DIR/secret_key` (mode 0600).",
    )
    secret_key_file: Path | None = Field(
        None,
        description="Read the secret key from this file instead (for container secrets).",
    )
    demo: bool = Field(
        False,
        description="Label every page as showing synthetic demo data (set by `offramp demo`).",
    )
    page_cache_seconds: int = Field(
        30,
        ge=0,
        le=3600,
        description="How long anonymous pages are served from the in-process cache; any write "
        "invalidates it at once. 0 turns the cache off.",
    )
    max_request_bytes: int = Field(
        256 * 1024,
        ge=16 * 1024,
        le=8 * 1024 * 1024,
        description="Largest request body accepted; larger ones get 413.",
    )
    rate_limits: str = Field(
        "on",
        description="`on` (the defaults), `off` (load tests and benchmarks only), or overrides "
        "such as `thread=5/3600,reply=30/3600` (ACTION=COUNT/SECONDS).",
    )
    trusted_proxies: str = Field(
        "",
        description="Comma-separated addresses or networks of reverse proxies whose "
        "`X-Forwarded-For` is believed. Empty: the header is ignored.",
    )
    redis_url: str | None = Field(
        None,
        description="`redis://host:port/db` for rate-limit buckets, the daily salt, spent "
        "proof-of-work challenges and the page cache's generation, shared by several workers "
        "and instances. Default: process memory (and a generation file in the data directory).",
    )
    onion: bool = Field(
        False,
        description="Onion-aware limits: requests that a trusted proxy marks with "
        "`X-Offramp-Onion: 1` (the onion server of `deploy/nginx/onion.conf`) are limited by "
        "what the client proves (a fresh proof-of-work, or the signed token of the form it "
        "submits) instead of by address, under a shared ceiling. Needs "
        "`OFFRAMP_TRUSTED_PROXIES`.",
    )
    onion_ceiling: int = Field(
        20,
        ge=1,
        le=1000,
        description="In onion-aware mode, how many times each action's limit all onion "
        "clients together may use in one window (the ceiling on the one address they share).",
    )
    metrics_addresses: str = Field(
        "127.0.0.1,::1",
        description="Addresses or networks allowed to read `/metrics` (Prometheus text format: "
        "requests and latency by route template, nothing about clients). Others get 404, as "
        "does any request that came through a proxy. Empty: no `/metrics`.",
    )
    proof_of_work: bool = Field(
        True,
        description="Offer proof-of-work challenges to JavaScript clients; a solved one earns the "
        "normal writing limits, without one they are halved. `false` for load tests.",
    )
    proof_of_work_cost: int = Field(
        50_000,
        ge=1_000,
        le=10_000_000,
        description="Largest number a proof-of-work challenge may hide (work grows with it).",
    )
    form_min_seconds: float = Field(
        3.0,
        ge=0,
        le=60,
        description="A form submitted faster than this after it was served is treated as a bot.",
    )
    stats_min_cell: int = Field(
        11,
        ge=5,
        le=100,
        description="Disclosure control: the smallest number of respondents any published "
        "count, denominator or share may rest on (k).",
    )
    stats_rebuild_hours: int = Field(
        24,
        ge=1,
        le=168,
        description="How often the app rebuilds the published statistics (a batch, never per "
        "survey, so two page loads cannot be diffed to learn one answer).",
    )
    sqlite_pool_size: int = Field(
        4,
        ge=1,
        le=64,
        description="Connections kept open per process to the SQLite database.",
    )
    postgres_pool_size: int = Field(
        10,
        ge=1,
        le=200,
        description="Connections per process in the PostgreSQL pool.",
    )
    public_url: str | None = Field(
        None,
        description="The site's public address, e.g. `https://offramp.example`: absolute links "
        "in feeds, the sitemap and robots.txt, and the authority of feed entry ids (set it "
        "before feeds are published; ids must never change). Default: the address a request "
        "came to.",
    )

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError(
                "must start with sqlite:/// or postgresql:// (e.g. sqlite:///data/offramp.sqlite3)"
            )
        return value

    @field_validator("read_replica_urls")
    @classmethod
    def _replicas_are_postgres(cls, value: str) -> str:
        for url in (part.strip() for part in value.split(",")):
            if url and not url.startswith(("postgresql://", "postgres://")):
                raise ValueError(f"each URL must start with postgresql:// (got {url[:40]!r})")
        return value

    @field_validator("public_url")
    @classmethod
    def _origin_only(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname or parts.path.strip("/"):
            raise ValueError("must look like https://offramp.example (scheme and host)")
        return value.rstrip("/")

    @field_validator("rate_limits")
    @classmethod
    def _limits_parse(cls, value: str) -> str:
        from offramp.anonymity.ratelimit import parse_limits

        parse_limits(value)
        return value

    @field_validator("trusted_proxies", "metrics_addresses")
    @classmethod
    def _networks_parse(cls, value: str) -> str:
        from offramp.anonymity.ratelimit import parse_networks

        parse_networks(value)
        return value

    @model_validator(mode="after")
    def _replicas_need_postgres(self) -> Settings:
        if self.replica_urls and self.is_sqlite:
            raise ValueError(
                "read_replica_urls: replicas need a PostgreSQL OFFRAMP_DATABASE_URL (SQLite "
                "has no replicas)"
            )
        return self

    @model_validator(mode="after")
    def _onion_needs_a_trusted_proxy(self) -> Settings:
        if self.onion and not self.trusted_proxies.strip():
            raise ValueError(
                "onion: OFFRAMP_ONION=true needs OFFRAMP_TRUSTED_PROXIES (the address of the "
                "proxy whose onion server sets X-Offramp-Onion); the marker is believed from "
                "nobody else"
            )
        return self

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, value: str | None) -> str | None:
        if value is not None and len(value) < 32:
            raise ValueError("must be at least 32 characters")
        return value

    # -- derived values -------------------------------------------------------

    @property
    def is_production(self) -> bool:
        return self.env == Environment.production

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'offramp.sqlite3'}"

    @property
    def replica_urls(self) -> list[str]:
        return [url.strip() for url in self.read_replica_urls.split(",") if url.strip()]

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite:///")

    @property
    def sqlite_path(self) -> Path:
        return Path(self.resolved_database_url.removeprefix("sqlite:///"))

    @property
    def key(self) -> bytes:
        """The secret key as bytes; ``load()`` guarantees it is present."""
        if not self.secret_key:
            raise ConfigurationError("no secret key: build settings with Settings.load()")
        return self.secret_key.encode()

    # -- construction ---------------------------------------------------------

    @classmethod
    def load(cls, **overrides: object) -> Settings:
        """Read ``OFFRAMP_*`` variables, apply overrides, then settle the secret key."""
        settings = cls(**overrides)  # type: ignore[arg-type]
        return settings.with_secret_key()

    def with_secret_key(self) -> Settings:
        if self.secret_key:
            return self
        if self.secret_key_file:
            try:
                key = self.secret_key_file.read_text().strip()
            except OSError as exc:
                raise ConfigurationError(
                    f"OFFRAMP_SECRET_KEY_FILE={self.secret_key_file} cannot be read: {exc}"
                ) from None
            return self.model_copy(update={"secret_key": type(self)._long_enough(key)})
        if self.is_production:
            raise ConfigurationError(
                "OFFRAMP_SECRET_KEY (or OFFRAMP_SECRET_KEY_FILE) must be set in production: "
                "generate one with `python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
            )
        return self.model_copy(update={"secret_key": _development_key(self.data_dir)})


def _development_key(data_dir: Path) -> str:
    """Create the development key once, readable by its owner only, and reuse it.

    The key is written to a private temporary file and hard-linked into place, so
    several workers starting together all end up with the same complete key.
    """
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = data_dir / f".secret_key.{secrets.token_hex(8)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another worker won the race: use its key
        finally:
            tmp.unlink()
    return path.read_text().strip()


def markdown_table() -> str:
    """The README's configuration table, generated from the fields above.

    ``python -m offramp.config`` prints it; ``tests/test_docs.py`` checks the README
    holds exactly this.
    """
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        default = field.default
        if isinstance(default, StrEnum):
            default = default.value
        shown = "—" if default is None else "(empty)" if default == "" else f"`{default}`"
        rows.append(f"| `OFFRAMP_{name.upper()}` | {shown} | {field.description} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
