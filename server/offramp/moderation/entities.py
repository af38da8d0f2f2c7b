"""Moderators' work on the directory and on surveys held out as bursts.

Pending entries (added by posters) are approved or rejected; any entry can be edited
(renamed: its page moves and the old name keeps resolving) or merged into another
(its threads, surveys, interview reports, search documents and names move over).
Surveys naming an entry that arrived in an unusual burst are counted again or left
out for good, and burst detection leaves them alone afterwards. Every action is one
transaction and one public log entry; a rejected entry's name is not logged (it may
come from a post nobody has reviewed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from offramp.db import write_transaction
from offramp.errors import Conflict, Invalid, NotFound
from offramp.forum.entities import alias_key, free_slug, resolve
from offramp.forum.tables import Entity, EntityAlias, Thread
from offramp.moderation import schemas
from offramp.moderation.service import QUEUE_LIMIT, URGENCY, Actor, write_log
from offramp.moderation.tables import LogEntry
from offramp.search.tables import SearchDocument
from offramp.surveys.tables import InterviewReport, Survey, SurveyProgram

DEFAULT_APPROVAL = "Checked: a real employer, program or certification."
NAMING = "(employer = {} OR id IN (SELECT survey FROM survey_program WHERE entity = {}))"
FLAGGED = "flagged AND NOT excluded AND " + NAMING
# Per entity, the surveys held out as a burst: read from the partial index of held-out
# surveys (survey_held_out), so the queue costs the same however many surveys there are.
BURSTS = (
    "WITH held AS MATERIALIZED (SELECT id, employer, created_at FROM survey "
    "WHERE flagged AND NOT excluded) "
    "SELECT e.entity AS entity, COUNT(*) AS n, MIN(e.created_at) AS since FROM "
    "(SELECT employer AS entity, id, created_at FROM held WHERE employer IS NOT NULL "
    "UNION SELECT p.entity, held.id, held.created_at FROM held "
    "JOIN survey_program p ON p.survey = held.id) e GROUP BY e.entity"
)


@dataclass(frozen=True)
class EntityDesk:
    """Queue items for entities and flagged surveys, their review and the actions."""

    # -- the queue ---------------------------------------------------------------------------

    async def pending_items(self) -> list[schemas.QueueItem]:
        rows = await (
            Entity.select(Entity.name, Entity.slug, Entity.kind, Entity.created_at)
            .where(Entity.status == "pending")
            .order_by(Entity.created_at)
            .limit(QUEUE_LIMIT)
        )
        return [
            schemas.QueueItem(
                kind="entity",
                urgency=URGENCY["other"],
                why=["New entry awaiting confirmation"],
                waiting_since=row["created_at"].date(),
                title=f"{row['name']} ({row['kind']})",
                summary="Added by a poster. Approve it, merge it into the entry it "
                "duplicates, or reject it.",
                url=f"/moderation/entities/{row['slug']}",
            )
            for row in rows
        ]

    async def burst_items(self) -> list[schemas.QueueItem]:
        rows = await Survey.raw(BURSTS)
        names = await _entities([row["entity"] for row in rows])
        items = []
        for row in rows:
            entity = names.get(row["entity"])
            if entity is None:
                continue
            since = row["since"]
            if isinstance(since, str):  # SQLite hands raw timestamps back as text
                since = datetime.fromisoformat(since)
            items.append(
                schemas.QueueItem(
                    kind="surveys",
                    urgency=URGENCY["astroturfing"],
                    why=[f"Surveys arrived in a burst ×{row['n']}"],
                    waiting_since=since.date(),
                    title=f"Surveys naming {entity['name']}",
                    summary="Held out of the published figures. Count them if they look "
                    "genuine, or leave them out for good.",
                    url=f"/moderation/entities/{entity['slug']}",
                )
            )
        return items

    # -- review ------------------------------------------------------------------------------

    async def review(self, slug: str) -> schemas.EntityReview:
        entity = await _by_slug(slug)
        entity_id = entity["id"]
        threads = await Thread.count().where(
            Thread.entity == entity_id, Thread.status == "published"
        )
        counts = await Survey.raw(
            "SELECT COUNT(*) AS n, SUM(CASE WHEN flagged AND NOT excluded THEN 1 ELSE 0 END) "
            f"AS flagged FROM survey WHERE {NAMING}",
            entity_id,
            entity_id,
        )
        interviews = await InterviewReport.count().where(InterviewReport.employer == entity_id)
        return schemas.EntityReview(
            slug=entity["slug"],
            name=entity["name"],
            kind=entity["kind"],
            status=entity["status"],
            website=entity["website"],
            description=entity["description"],
            aliases=_lines(entity["aliases"]),
            url=f"/entities/{entity['slug']}",
            created=entity["created_at"].date(),
            threads=threads,
            surveys=counts[0]["n"] or 0,
            interview_reports=interviews,
            flagged_surveys=counts[0]["flagged"] or 0,
        )

    # -- actions -----------------------------------------------------------------------------

    async def act(self, actor: Actor, slug: str, data: schemas.EntityActionCreate) -> int:
        """One action on an entry, in one transaction, logged; the log entry's id."""
        reason = data.reason.strip()
        if not reason:
            if data.action != "approve":
                raise Invalid(
                    "Give a public reason: it is shown in the moderation log.", field="reason"
                )
            reason = DEFAULT_APPROVAL
        action = {
            "approve": self._approve,
            "reject": self._reject,
            "edit": self._edit,
            "merge": self._merge,
            "clear_surveys": self._clear_surveys,
            "exclude_surveys": self._exclude_surveys,
        }[data.action]
        async with write_transaction():
            entity = await _by_slug(slug)
            return await action(actor, entity, reason, data)

    async def _approve(self, actor, entity, reason, _data) -> int:
        if entity["status"] != "pending":
            raise Conflict("Only a pending entry can be approved.", code="not_pending")
        await Entity.update({Entity.status: "approved", Entity.pending_source: None}).where(
            Entity.id == entity["id"]
        )
        return await write_log(actor, "approve_entity", reason, entity=entity["id"])

    async def _reject(self, actor, entity, reason, _data) -> int:
        """A pending entry that is not real (or not wanted): it disappears; threads and
        surveys that named it keep their text but lose the link."""
        if entity["status"] != "pending":
            raise Conflict(
                "Only a pending entry can be rejected; merge an approved one instead.",
                code="not_pending",
            )
        entity_id = entity["id"]
        await Thread.update({Thread.entity: None}).where(Thread.entity == entity_id)
        await SearchDocument.update({SearchDocument.entity: None}).where(
            SearchDocument.entity == entity_id
        )
        await Survey.update({Survey.employer: None}).where(Survey.employer == entity_id)
        await SurveyProgram.delete().where(SurveyProgram.entity == entity_id)
        await InterviewReport.delete().where(InterviewReport.employer == entity_id)
        await EntityAlias.delete().where(EntityAlias.entity == entity_id)
        await LogEntry.update({LogEntry.entity: None}).where(LogEntry.entity == entity_id)
        await Entity.delete().where(Entity.id == entity_id)
        return await write_log(
            actor, "reject_entity", reason, detail="A pending entry was removed."
        )

    async def _edit(self, actor, entity, reason, data) -> int:
        changes: dict = {}
        aliases = _lines(entity["aliases"]) if data.aliases is None else list(data.aliases)
        name = entity["name"]
        if data.name is not None and data.name != entity["name"]:
            name = data.name
            changes[Entity.name] = name
            slug = await free_slug(name, entity["id"])
            changes[Entity.slug] = slug
            if entity["name"] not in aliases:  # the old name keeps working, and says so
                aliases.append(entity["name"])
        if data.kind is not None and data.kind != entity["kind"]:
            changes[Entity.kind] = data.kind
        if data.website is not None and data.website != entity["website"]:
            if data.website and not data.website.startswith(("https://", "http://")):
                raise Invalid("A website starts with https:// or http://.", field="website")
            changes[Entity.website] = data.website
        if data.description is not None and data.description != entity["description"]:
            changes[Entity.description] = data.description
        aliases = _unique([alias for alias in aliases if alias_key(alias) != alias_key(name)])
        if aliases != _lines(entity["aliases"]):
            changes[Entity.aliases] = "\n".join(aliases)
        if not changes:
            raise Conflict("Nothing would change.", code="unchanged")
        slug = changes.get(Entity.slug, entity["slug"])
        await _set_keys(entity["id"], [name, slug, entity["slug"], *aliases])
        await Entity.update(changes).where(Entity.id == entity["id"])
        words = []
        if Entity.name in changes:
            words.append(f"renamed from “{entity['name']}” to “{name}”")
        if Entity.kind in changes:
            words.append(f"now {data.kind}")
        if set(changes) - {Entity.name, Entity.slug, Entity.kind}:
            words.append("details updated")
        text = ", ".join(words)
        detail = text[:1].upper() + text[1:] + "."
        return await write_log(actor, "edit_entity", reason, entity=entity["id"], detail=detail)

    async def _merge(self, actor, entity, reason, data) -> int:
        """``entity`` goes into ``data.into``: everything that named it names the other."""
        if not data.into:
            raise Invalid("Say which entry remains.", field="into")
        into_id = await resolve(data.into, field="into")
        if into_id == entity["id"]:
            raise Invalid("An entry cannot be merged into itself.", field="into")
        into = await Entity.select().where(Entity.id == into_id).first()
        if into["status"] != "approved":
            raise Conflict(
                "Merge into an approved entry (approve it first, or merge the other way).",
                code="not_approved",
            )
        if into["kind"] != entity["kind"]:
            raise Invalid(
                f"“{into['name']}” is a {into['kind']} and “{entity['name']}” a "
                f"{entity['kind']}: edit the kind first if one is wrong.",
                field="into",
            )
        old, new = entity["id"], into_id
        await Thread.update({Thread.entity: new}).where(Thread.entity == old)
        await SearchDocument.update({SearchDocument.entity: new}).where(
            SearchDocument.entity == old
        )
        await Survey.update({Survey.employer: new}).where(Survey.employer == old)
        await SurveyProgram.raw(  # a survey that named both keeps one row
            "DELETE FROM survey_program WHERE entity = {} AND survey IN "
            "(SELECT survey FROM survey_program WHERE entity = {})",
            old,
            new,
        )
        await SurveyProgram.update({SurveyProgram.entity: new}).where(SurveyProgram.entity == old)
        await InterviewReport.update({InterviewReport.employer: new}).where(
            InterviewReport.employer == old
        )
        await EntityAlias.update({EntityAlias.entity: new}).where(EntityAlias.entity == old)
        await LogEntry.update({LogEntry.entity: new}).where(LogEntry.entity == old)
        aliases = _unique(
            [*_lines(into["aliases"]), entity["name"], *_lines(entity["aliases"])],
            without=into["name"],
        )
        await Entity.update(
            {
                Entity.aliases: "\n".join(aliases),
                Entity.thread_count: Entity.thread_count + entity["thread_count"],
            }
        ).where(Entity.id == new)
        await Entity.delete().where(Entity.id == old)
        detail = f"“{entity['name']}” merged into “{into['name']}”."
        return await write_log(actor, "merge_entity", reason, entity=new, detail=detail)

    async def _clear_surveys(self, actor, entity, reason, _data) -> int:
        return await self._decide(actor, entity, reason, excluded=False)

    async def _exclude_surveys(self, actor, entity, reason, _data) -> int:
        return await self._decide(actor, entity, reason, excluded=True)

    async def _decide(self, actor, entity, reason, *, excluded: bool) -> int:
        """Surveys naming the entry that were held out as a burst: counted from the next
        rebuild, or left out for good. The log says which, never how many."""
        await _decide_flagged(entity["id"], excluded=excluded)
        outcome = (
            "are left out of the figures for good"
            if excluded
            else "count again from the next statistics rebuild"
        )
        detail = f"Recent surveys naming “{entity['name']}” that arrived in a burst {outcome}."
        action = "exclude_surveys" if excluded else "clear_surveys"
        return await write_log(actor, action, reason, entity=entity["id"], detail=detail)


# -- helpers ----------------------------------------------------------------------------------


async def _by_slug(slug: str) -> dict:
    row = await Entity.select().where(Entity.slug == slug).first()
    if row is None:
        raise NotFound("There is no such entry in the directory.", field="slug")
    return row


async def _entities(ids: list[str]) -> dict[str, dict]:
    rows = await Entity.select(Entity.id, Entity.name, Entity.slug).where(
        Entity.id.is_in(ids or [""])
    )
    return {row["id"]: row for row in rows}


async def _decide_flagged(entity_id: str, *, excluded: bool) -> None:
    updated = await Survey.raw(
        "UPDATE survey SET flagged = {}, excluded = {}, reviewed = {} WHERE "
        + FLAGGED
        + " RETURNING id",
        False,
        excluded,
        True,
        entity_id,
        entity_id,
    )
    if not updated:
        raise Conflict("No surveys naming this entry are held out.", code="nothing_flagged")


async def _set_keys(entity_id: str, names: list[str]) -> None:
    """The look-up keys of an entry become exactly those of ``names``; a key that names
    another entry is refused (merge the two instead)."""
    wanted = {alias_key(name) for name in names if alias_key(name)}
    rows = await EntityAlias.select(EntityAlias.key, EntityAlias.entity).where(
        EntityAlias.key.is_in(sorted(wanted))
    )
    for row in rows:
        if row["entity"] != entity_id:
            raise Conflict(
                f"“{row['key']}” already names another entry: merge the two instead.",
                code="name_taken",
            )
    have = {row["key"] for row in rows}
    await EntityAlias.delete().where(
        EntityAlias.entity == entity_id, EntityAlias.key.not_in(sorted(wanted))
    )
    missing = sorted(wanted - have)
    if missing:
        await EntityAlias.insert(*(EntityAlias(entity=entity_id, key=key) for key in missing))


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _unique(names: list[str], without: str = "") -> list[str]:
    seen = {alias_key(without)} if without else set()
    kept = []
    for name in names:
        if alias_key(name) not in seen:
            seen.add(alias_key(name))
            kept.append(name)
    return kept
