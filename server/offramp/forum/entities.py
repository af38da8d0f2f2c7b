"""Naming employers, programs and certifications in posts and surveys (SPEC §2).

A name resolves through the entity's name, slug or aliases, ignoring case, accents and
spacing. A poster may add a name that is not in the directory: the new entity is
*pending* — it has a page but is not listed, has no statistics of its own and no
suggestions show it — until it is named again from somewhere else (another thread, or
another standalone survey) or a moderator approves it. Both steps happen inside the
transaction of the post or survey that names it, so a refused post leaves no entity
behind.

Near-duplicates ("Did you mean …?") come from trigram similarity on PostgreSQL
(``pg_trgm``, indexed) and from rapidfuzz over the names and aliases on SQLite.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from dataclasses import dataclass, field

from asyncpg.exceptions import UniqueViolationError
from piccolo.engine.postgres import PostgresEngine
from rapidfuzz import fuzz, process

from offramp.db import current_engine
from offramp.errors import Conflict, Invalid
from offramp.forum.tables import Entity, EntityAlias
from offramp.ids import new_id, this_hour

KINDS = ("employer", "program", "certification")
A_KIND = {"employer": "an employer", "program": "a program", "certification": "a certification"}
NAME_MIN, NAME_MAX = 2, 120
NEAR_LIMIT = 3
FUZZY_CUTOFF = 85  # rapidfuzz WRatio, 0-100


@dataclass(frozen=True)
class NewEntity:
    id: str
    name: str
    kind: str


@dataclass
class EntityPlan:
    """The entities one post or survey names, collected while its fields are checked
    (before anything is written) and applied inside its write transaction.

    ``allow_new``: the poster asked to add names that are not in the directory.
    """

    allow_new: bool = False
    new: dict[str, NewEntity] = field(default_factory=dict)  # by alias key
    named: set[str] = field(default_factory=set)  # ids of entities already known


@dataclass(frozen=True)
class Similar:
    name: str
    slug: str
    kind: str


class UnknownEntity(Invalid):
    """A name that is in the directory under no spelling; ``similar`` are close ones."""

    code = "unknown_entity"

    def __init__(self, text: str, field: str, similar: list[Similar], kinds: tuple[str, ...]):
        hint = ""
        if similar:
            hint = " Did you mean " + " or ".join(f"“{s.name}”" for s in similar) + "?"
        nouns = [A_KIND[kind].split(" ", 1)[1] for kind in kinds]
        words = " or ".join([", ".join(nouns[:-1]), nouns[-1]] if len(nouns) > 1 else nouns)
        super().__init__(
            f"No {words} in the directory is called “{text[:80]}”.{hint} Pick a name from "
            "the directory (/entities), or ask to add it as a new entry: it is shown as "
            "pending until someone else names it too or a moderator confirms it.",
            field=field,
        )
        self.text = text
        self.similar = similar


def alias_key(text: str) -> str:
    """Case-, accent- and spacing-insensitive form of a name, for look-ups."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.casefold().replace("-", " ").split())[:140]


def slug_base(name: str) -> str:
    """A URL-safe slug: ASCII letters and digits joined by hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", alias_key(name)).strip("-")[:120] or "entity"


async def lookup(text: str) -> dict | None:
    """The entity named ``text`` (any spelling it is known by): id, kind, status."""
    return (
        await EntityAlias.select(
            EntityAlias.entity.as_alias("id"),
            EntityAlias.entity.kind.as_alias("kind"),
            EntityAlias.entity.status.as_alias("status"),
        )
        .where(EntityAlias.key == alias_key(text))
        .first()
    )


async def resolve(
    text: str,
    *,
    field: str = "entity",
    kinds: tuple[str, ...] = KINDS,
    plan: EntityPlan | None = None,
    new_kind: str | None = None,
    kind_field: str = "entity_kind",
) -> str:
    """The id of the entity named ``text``; with a ``plan`` that allows new names, a
    name not in the directory becomes a new pending entity of ``new_kind``."""
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise Invalid("A name may not contain control characters.", field=field)
    row = await lookup(text)
    if row is not None:
        if row["kind"] not in kinds:
            allowed = " or ".join(A_KIND[kind] for kind in kinds)
            raise Invalid(f"“{text[:80]}” is {A_KIND[row['kind']]}, not {allowed}.", field=field)
        if plan is not None:
            plan.named.add(row["id"])
        return row["id"]
    key = alias_key(text)
    if plan is None or not plan.allow_new or not key:
        raise UnknownEntity(text, field, await near_duplicates(text), kinds)
    if key in plan.new:
        return plan.new[key].id
    name = " ".join(text.split())
    if not NAME_MIN <= len(name) <= NAME_MAX:
        raise Invalid(f"A new entry's name is {NAME_MIN}–{NAME_MAX} characters long.", field=field)
    if new_kind is None:
        raise Invalid(
            f"Say what “{name[:80]}” is — "
            + ", ".join(A_KIND[kind] for kind in kinds)
            + " — to add it as a new entry.",
            field=kind_field,
        )
    if new_kind not in kinds:
        raise Invalid(f"“{new_kind}” is not one of: {', '.join(kinds)}.", field=kind_field)
    plan.new[key] = NewEntity(new_id(), name, new_kind)
    return plan.new[key].id


async def apply(plan: EntityPlan, source: str) -> list[str]:
    """Inside the write transaction of whatever named them: add the new entities as
    pending, and confirm pending ones that ``source`` (a thread, or a standalone
    survey) names independently of their first mention. Returns the confirmed ids."""
    try:
        await _add(plan, source)
    except (UniqueViolationError, sqlite3.IntegrityError):
        # Another post added the same name (or slug) in the same instant, on PostgreSQL
        # where two transactions can both find it free. This one rolls back whole.
        raise Conflict(
            "A new entry with this name was added a moment ago: send again to use it.",
            code="entity_added",
        ) from None
    if not plan.named:
        return []
    confirmed = await (
        Entity.update({Entity.status: "approved", Entity.pending_source: None})
        .where(
            Entity.id.is_in(sorted(plan.named)),
            Entity.status == "pending",
            Entity.pending_source != source,
        )
        .returning(Entity.id)
    )
    return [row["id"] for row in confirmed]


async def _add(plan: EntityPlan, source: str) -> None:
    for new in plan.new.values():
        slug = await free_slug(new.name)
        keys = sorted({alias_key(new.name), alias_key(slug)})
        taken = await EntityAlias.select(EntityAlias.key).where(EntityAlias.key.is_in(keys))
        if any(row["key"] == alias_key(new.name) for row in taken):
            raise Conflict(
                f"“{new.name}” was added to the directory a moment ago: send again to use it.",
                code="entity_added",
            )
        await Entity.insert(
            Entity(
                id=new.id,
                kind=new.kind,
                name=new.name,
                slug=slug,
                status="pending",
                pending_source=source,
                created_at=this_hour(),
            )
        )
        free = [key for key in keys if key not in {row["key"] for row in taken}]
        await EntityAlias.insert(*(EntityAlias(entity=new.id, key=key) for key in free))


async def free_slug(name: str, entity_id: str | None = None) -> str:
    """A slug for ``name`` that no other entity has (``-2``, ``-3``... when taken);
    ``entity_id``'s own slug does not count as taken (renaming)."""
    base = slug_base(name)
    query = Entity.select(Entity.slug).where((Entity.slug == base) | Entity.slug.like(base + "-%"))
    if entity_id is not None:
        query = query.where(Entity.id != entity_id)
    taken = {row["slug"] for row in await query}
    number, slug = 2, base
    while slug in taken:
        slug, number = f"{base}-{number}", number + 1
    return slug


async def near_duplicates(text: str, limit: int = NEAR_LIMIT) -> list[Similar]:
    """Directory entries whose name or an alias is close to ``text`` (approved ones
    only: a pending name may come from a post nobody has reviewed yet)."""
    key = alias_key(text)
    if not key:
        return []
    if isinstance(current_engine(), PostgresEngine):
        rows = await Entity.raw(
            "SELECT e.name, e.slug, e.kind, MAX(similarity(a.key, {})) AS score "
            "FROM forum_entity_alias a JOIN forum_entity e ON e.id = a.entity "
            "WHERE a.key % {} AND e.status = 'approved' "
            "GROUP BY e.id, e.name, e.slug, e.kind ORDER BY score DESC, e.name LIMIT {}",
            key,
            key,
            limit,
        )
        return [Similar(row["name"], row["slug"], row["kind"]) for row in rows]
    rows = await EntityAlias.select(
        EntityAlias.key,
        EntityAlias.entity.name.as_alias("name"),
        EntityAlias.entity.slug.as_alias("slug"),
        EntityAlias.entity.kind.as_alias("kind"),
    ).where(EntityAlias.entity.status == "approved")
    scored = process.extract(
        key,
        [row["key"] for row in rows],
        scorer=fuzz.WRatio,
        score_cutoff=FUZZY_CUTOFF,
        limit=limit * 4,
    )
    found: dict[str, Similar] = {}
    for _match, _score, index in scored:
        row = rows[index]
        found.setdefault(row["slug"], Similar(row["name"], row["slug"], row["kind"]))
    return list(found.values())[:limit]
