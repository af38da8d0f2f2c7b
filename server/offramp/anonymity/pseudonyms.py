"""Thread-scoped pseudonyms (SPEC §3.4).

A poster's label inside a thread is derived from HMAC(secret, author, thread):
stable inside the thread, unrelated across threads, and meaningless without the
secret key. The opening poster is shown as "OP". Labels are computed when a page
is rendered, never stored, so rotating the secret key changes them all.
"""

from __future__ import annotations

import hashlib
import hmac

ADJECTIVES = tuple(
    "Amber Brisk Calm Candid Cedar Clear Coral Crisp Dawn Deep Dusky Even Fair Fern "
    "Frank Gentle Golden Grey Hazel Honest Ivory Jade Keen Kind Level Lucid Maple Mellow "
    "Mild Misty Noble Olive Open Pale Plain Quiet Rapid Russet Sage Silver Slate Steady "
    "Stone Sunny Swift Tawny Teal Tidy Warm".split()
)
NOUNS = tuple(
    "Alder Aspen Badger Beacon Birch Bison Brook Canyon Cedar Comet Crane Delta Dune "
    "Egret Falcon Finch Fjord Glade Grove Harbor Hare Heron Ibis Island Juniper Kestrel "
    "Lark Linden Lynx Marten Meadow Mesa Otter Owl Pine Plover Quail Raven Reef Ridge "
    "Robin Sparrow Spruce Summit Swan Thrush Valley Willow Wren".split()
)


def pseudonym(secret: bytes, author_ref: str, thread_id: str, op_ref: str) -> str:
    if author_ref == op_ref:
        return "OP"
    digest = hmac.new(
        secret, f"pseudonym|{thread_id}|{author_ref}".encode(), hashlib.sha256
    ).digest()
    adjective = ADJECTIVES[int.from_bytes(digest[0:2], "big") % len(ADJECTIVES)]
    noun = NOUNS[int.from_bytes(digest[2:4], "big") % len(NOUNS)]
    number = int.from_bytes(digest[4:6], "big") % 90 + 10
    return f"{adjective} {noun} {number}"
