"""Outcome surveys and interview reports: the rules, and their storage. No HTTP here.

A survey belongs to a post (and is then managed with the post's edit key or
persona) or stands alone — the "start tracking" flow — with its own key. Every
submission appends a revision; the current values are copied into columns for
the statistics. ``status_as_of`` and ``prospective`` are set here, never by the
respondent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date

from offramp.anonymity.editkeys import clean_key, hash_key, key_matches, new_edit_key
from offramp.db import write_transaction
from offramp.errors import Forbidden, Invalid, NotFound, Unauthorized
from offramp.forum.entities import EntityPlan
from offramp.forum.service import Attachment, Author, Forum
from offramp.forum.tables import Post
from offramp.ids import new_id, this_hour
from offramp.surveys import schemas
from offramp.surveys.schemas import SCHEMA_VERSION, current_month, month_index
from offramp.surveys.tables import InterviewReport, Survey, SurveyProgram, SurveyRevision

LANDMARK_MONTH = 3


@dataclass(frozen=True)
class Checked:
    """A survey that passed every rule, with its entities resolved to ids."""

    data: schemas.SurveyV1
    employer_id: str | None
    program_ids: list[str]
    plan: EntityPlan = field(default_factory=EntityPlan)


class Surveys:
    def __init__(self, forum: Forum) -> None:
        self.forum = forum

    # -- checking -----------------------------------------------------------------

    async def check(self, data: schemas.SurveyV1, plan: EntityPlan | None = None) -> Checked:
        """Apply the rules across fields and resolve named entities; errors name the field.
        Names not in the directory become new (pending) entities if ``plan`` allows it:
        the employer field names an employer, the programs field a program."""
        for name, message in data.rule_errors():
            raise Invalid(f"survey.{name} {message}.", field=f"survey.{name}")
        plan = plan if plan is not None else EntityPlan()
        employer_id = None
        if data.employer:
            employer_id = await self.forum.resolve_entity(
                data.employer,
                field="survey.employer",
                kinds=("employer",),
                plan=plan,
                new_kind="employer",
            )
        program_ids = [
            await self.forum.resolve_entity(
                program.entity,
                field=f"survey.programs.{index}.entity",
                kinds=("program", "certification"),
                plan=plan,
                new_kind="program",
            )
            for index, program in enumerate(data.programs)
        ]
        return Checked(data, employer_id, program_ids, plan)

    async def check_interview(
        self, report: schemas.InterviewReport, plan: EntityPlan | None = None
    ) -> str:
        return await self.forum.resolve_entity(
            report.employer,
            field="interview.employer",
            kinds=("employer",),
            plan=plan,
            new_kind="employer",
        )

    # -- attaching to a new post (inside the forum's transaction) ------------------

    def attachment(
        self,
        survey: Checked | None,
        interview: tuple[schemas.InterviewReport, str] | None,
        persona_id: str | None,
    ) -> Attachment | None:
        if survey is None and interview is None:
            return None

        async def attach(_thread_id: str, post_id: str) -> None:
            if survey is not None:
                await self._insert(survey, post_id=post_id, persona_id=persona_id)
            if interview is not None:
                await self._insert_interview(post_id, *interview)

        return attach

    # -- the start-tracking flow: a survey of its own --------------------------------

    async def start_tracking(
        self, data: schemas.SurveyV1, persona_id: str | None = None, new_entities: bool = False
    ) -> schemas.SurveyCreated:
        checked = await self.check(data, EntityPlan(allow_new=new_entities))
        key, key_hash = new_edit_key()
        survey_id = new_id()
        async with write_transaction():
            await self.forum.apply_entities(checked.plan, source=survey_id)
            await self._insert(
                checked, survey_id=survey_id, key_hash=key_hash, persona_id=persona_id
            )
        return schemas.SurveyCreated(survey=await self._read(survey_id), edit_key=key)

    async def update(
        self, survey_id: str, author: Author, data: schemas.SurveyV1, new_entities: bool = False
    ) -> schemas.SurveyRead:
        checked = await self.check(data, EntityPlan(allow_new=new_entities))
        async with write_transaction():
            row = await self._authorised(survey_id, author)
            await self.forum.apply_entities(checked.plan, source=await self._source(row))
            await self._append(row["id"], checked, row["prospective"])
        return await self._read(survey_id)

    async def update_for_post(
        self, post_id: str, author: Author, data: schemas.SurveyV1, new_entities: bool = False
    ) -> schemas.SurveyRead:
        """Add or update the survey of a post, with the post's key or persona."""
        checked = await self.check(data, EntityPlan(allow_new=new_entities))
        async with write_transaction():
            await self.forum.own_post(post_id, author)
            await self.forum.apply_entities(
                checked.plan, source=await self._source({"post": post_id})
            )
            row = (
                await Survey.select(Survey.id, Survey.prospective)
                .where(Survey.post == post_id)
                .first()
            )
            if row is None:
                persona = author.persona_id
                survey_id = await self._insert(checked, post_id=post_id, persona_id=persona)
            else:
                survey_id = row["id"]
                await self._append(survey_id, checked, row["prospective"])
        return await self._read(survey_id)

    async def find_by_key(self, raw_key: str) -> tuple[str | None, str | None]:
        """(survey id, post id) for an edit key: a tracking survey's own key, or the key
        of a post (which may not have a survey yet). Raises 403 for an unknown key."""
        key = clean_key(raw_key)
        if key is None:
            raise Forbidden("That is not an edit key.", field="edit_key")
        digest = hash_key(key)
        row = await Survey.select(Survey.id).where(Survey.key_hash == digest).first()
        if row:
            return row["id"], None
        post = await (
            Post.select(Post.id)
            .where(Post.key_hash == digest, Post.status.not_in(["deleted", "withdrawn"]))
            .first()
        )
        if post is None:
            raise Forbidden("No survey or post has that edit key.", field="edit_key")
        survey = await Survey.select(Survey.id).where(Survey.post == post["id"]).first()
        return (survey["id"] if survey else None), post["id"]

    async def read(self, survey_id: str, author: Author) -> schemas.SurveyRead:
        await self._authorised(survey_id, author)
        return await self._read(survey_id)

    async def read_for_post(self, post_id: str, author: Author) -> schemas.SurveyRead | None:
        await self.forum.own_post(post_id, author)
        row = await Survey.select(Survey.id).where(Survey.post == post_id).first()
        return await self._read(row["id"]) if row else None

    # -- storage ------------------------------------------------------------------------

    async def _insert(
        self,
        checked: Checked,
        *,
        survey_id: str | None = None,
        post_id: str | None = None,
        key_hash: str | None = None,
        persona_id: str | None = None,
    ) -> str:
        survey_id = survey_id or new_id()
        now = this_hour()
        await Survey.insert(
            Survey(
                id=survey_id,
                post=post_id,
                key_hash=key_hash,
                persona=persona_id,
                schema_version=SCHEMA_VERSION,
                revision_count=0,
                prospective=checked.data.status == "still_searching",
                created_at=now,
                updated_at=now,
                **_current_values(checked),
            )
        )
        await self._append(survey_id, checked, None)
        return survey_id

    async def _append(self, survey_id: str, checked: Checked, prospective: bool | None) -> None:
        """One more revision; the current values follow it."""
        today = date.today()
        now = this_hour()
        updated = await (
            Survey.update(
                {
                    Survey.revision_count: Survey.revision_count + 1,
                    Survey.updated_at: now,
                    Survey.schema_version: SCHEMA_VERSION,
                    **{getattr(Survey, k): v for k, v in _current_values(checked).items()},
                }
            )
            .where(Survey.id == survey_id)
            .returning(Survey.revision_count)
        )
        await SurveyRevision.insert(
            SurveyRevision(
                survey=survey_id,
                number=updated[0]["revision_count"],
                schema_version=SCHEMA_VERSION,
                data=checked.data.model_dump_json(),
                status_as_of=today,
                created_at=now,
            )
        )
        await SurveyProgram.delete().where(SurveyProgram.survey == survey_id)
        rows = [
            SurveyProgram(
                survey=survey_id,
                entity=entity_id,
                start_month=month_index(program.start_month) if program.start_month else None,
                cost=program.cost_usd,
                helped=program.helped,
                would_recommend=program.would_recommend,
                refund=program.refund,
                promised_placement=program.promised_placement,
                income_claims=program.income_claims,
            )
            for program, entity_id in zip(checked.data.programs, checked.program_ids, strict=True)
        ]
        if rows:
            await SurveyProgram.insert(*rows)

    async def _insert_interview(
        self, post_id: str, report: schemas.InterviewReport, employer_id: str
    ) -> None:
        await InterviewReport.insert(
            InterviewReport(
                post=post_id,
                employer=employer_id,
                role_category=report.role_category,
                stage_reached=report.stage_reached,
                outcome=report.outcome,
                reason_given=report.reason_given,
                weeks_to_response=report.weeks_to_response,
                difficulty=report.difficulty,
                created_at=this_hour(),
            )
        )

    async def _source(self, survey: dict) -> str:
        """Where a survey names entities from, to tell independent mentions apart: its
        post's thread, or the standalone survey itself."""
        if survey.get("post"):
            post = await Post.select(Post.thread).where(Post.id == survey["post"]).first()
            if post is not None:
                return post["thread"]
        return survey["id"]

    async def _authorised(self, survey_id: str, author: Author) -> dict:
        row = await Survey.select().where(Survey.id == survey_id).first()
        if row is None:
            raise NotFound("There is no such survey.", field="survey_id")
        if author.persona_id and row["persona"] == author.persona_id:
            return row
        if row["post"]:  # a post's survey goes with the post's key
            post = await Post.select(Post.key_hash).where(Post.id == row["post"]).first()
            stored = post["key_hash"] if post else None
        else:
            stored = row["key_hash"]
        key = clean_key(author.key)
        if not author.key:
            raise Unauthorized(
                "This needs the survey's (or its post's) edit key.", field="edit_key"
            )
        if key is None or stored is None or not key_matches(key, stored):
            raise Forbidden("That edit key does not belong to this survey.", field="edit_key")
        return row

    async def _read(self, survey_id: str) -> schemas.SurveyRead:
        row = await Survey.select().where(Survey.id == survey_id).first()
        revision = await (
            SurveyRevision.select(SurveyRevision.data, SurveyRevision.status_as_of)
            .where(SurveyRevision.survey == survey_id)
            .order_by(SurveyRevision.number, ascending=False)
            .first()
        )
        return schemas.SurveyRead(
            id=survey_id,
            schema_version=row["schema_version"],
            revision=row["revision_count"],
            prospective=row["prospective"],
            status_as_of=revision["status_as_of"],
            data=schemas.SurveyV1.model_validate(json.loads(revision["data"])),
        )


def _current_values(checked: Checked) -> dict:
    """The columns the statistics read, derived from one submission (durations are
    computed here from months, never typed in)."""
    data = checked.data
    started = month_index(data.search_started)
    as_of = current_month()
    outcome = month_index(data.outcome_month) if data.outcome_month else None
    costs = [p.cost_usd for p in data.programs if p.cost_usd]
    if data.other_costs_usd:
        costs.append(data.other_costs_usd)
    paid_early = any(
        (p.cost_usd or data.paid_any)
        and (p.start_month is None or month_index(p.start_month) <= started + LANDMARK_MONTH)
        for p in data.programs
    ) or (data.paid_any and not data.programs)
    return {
        "status": data.status,
        "search_started": started,
        "outcome_month": outcome,
        "as_of_month": as_of,
        "status_as_of": date.today(),
        "duration": (outcome if outcome is not None else as_of) - started,
        "paid_any": data.paid_any,
        "paid_by_month_3": bool(paid_early),
        "spend": sum(costs) if costs else None,
        "employment_type": data.employment_type,
        "role_category": data.role_category,
        "channel": data.channel,
        "employer": checked.employer_id,
        "training": data.training,
        "comp_before": data.comp_before,
        "comp_after": data.comp_after,
        "applications": data.applications,
        "interviews": data.interviews,
        "offers": data.offers,
        "counts_inconsistent": data.counts_inconsistent,
    }
