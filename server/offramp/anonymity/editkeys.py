"""Edit keys (SPEC §3.3): 32 random bytes, shown once; only a SHA-256 is stored.

A slow password hash protects low-entropy secrets; a 256-bit random key gains
nothing from one, so a plain SHA-256 compared in constant time is enough and
keeps argon2's CPU cost off the request path.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

KEY_BYTES = 32
MAX_KEY_LENGTH = 128  # anything longer is not one of ours; refuse before hashing


def new_edit_key() -> tuple[str, str]:
    """A fresh key and the hash to store."""
    key = secrets.token_urlsafe(KEY_BYTES)
    return key, hash_key(key)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def clean_key(raw: str | None) -> str | None:
    """The key as typed or pasted, trimmed; None when it cannot be a key."""
    if raw is None:
        return None
    key = raw.strip()
    if key.lower().startswith("bearer "):
        key = key[7:].strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        return None
    return key


def key_matches(key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_key(key), stored_hash)
