"""The entity directory's A–Z index and orderings (the /entities page).

Pure functions over the entities the forum lists: there are dozens to a few thousand
of them, curated, so one query and a pass in Python serve every letter and order.
"""

from __future__ import annotations

from dataclasses import dataclass
from string import ascii_uppercase

from offramp.forum.entities import alias_key
from offramp.forum.schemas import EntityRead

OTHER = "#"  # names that do not start with a letter A–Z (digits, other scripts)
LETTERS = tuple(ascii_uppercase) + (OTHER,)
SORTS = {"name": "A to Z", "activity": "Most threads"}


def initial(name: str) -> str:
    """The index letter of a name, ignoring case and accents ("Élan" files under E)."""
    first = alias_key(name)[:1].upper()
    return first if first and first in ascii_uppercase else OTHER


@dataclass(frozen=True)
class Directory:
    entities: list[EntityRead]  # those shown, in order
    letters: list[tuple[str, int]]  # every index letter and how many names it has
    letter: str | None
    sort: str
    total: int  # entities of the kind, before the letter is applied


def directory(entities: list[EntityRead], letter: str | None, sort: str | None) -> Directory:
    """Filter by index letter and order by name or by activity (most threads first).
    Unknown letters and orders fall back to all letters and A to Z."""
    letter = letter.upper() if letter and letter.upper() in LETTERS else None
    sort = sort if sort in SORTS else "name"
    counts = {candidate: 0 for candidate in LETTERS}
    for entity in entities:
        counts[initial(entity.name)] += 1
    shown = [e for e in entities if letter is None or initial(e.name) == letter]
    shown.sort(key=lambda e: alias_key(e.name))
    if sort == "activity":
        shown.sort(key=lambda e: -e.thread_count)  # stable: A to Z within a count
    return Directory(shown, list(counts.items()), letter, sort, len(entities))
