"""Synthetic outcome surveys: realistic, internally consistent, and fast in bulk.

Each respondent is simulated month by month from the start of their search: a
hire, stopping, or a return to clinical work can happen each month (competing
events), and anyone still searching at their last update is censored there.
Paying for coaching changes little (the synthetic truth is a slightly *lower*
hire rate), costs are skewed (log-normal), and a third of respondents register
while still searching (prospective). Everything is made up and says so.
"""

from __future__ import annotations

import json
import math
import random
from datetime import date, timedelta

from offramp.db import bulk_insert
from offramp.forum.seed import ensure_entities
from offramp.ids import new_id, this_hour
from offramp.surveys.schemas import COMP_BANDS, current_month, month_text

BATCH = 5000
HIRE_RATE, HIRE_RATE_PAID = 0.065, 0.058  # per month
STOP_RATE, RETURN_RATE = 0.010, 0.006

ROLES = [
    "utilization_management",
    "medical_affairs",
    "clinical_development",
    "medical_writing",
    "consulting",
    "health_tech",
    "informatics",
    "payer_medical_director",
    "policy_public_health",
    "leadership_administration",
    "education_content",
    "other",
]
ROLE_WEIGHTS = [22, 16, 8, 9, 6, 10, 6, 9, 4, 4, 3, 3]
CHANNELS = [
    "networking_referral",
    "job_board_direct",
    "recruiter",
    "internal_move",
    "mentor",
    "coaching_program_placement",
    "conference",
    "other",
]
CHANNEL_WEIGHTS = [35, 25, 15, 8, 5, 4, 3, 5]
TRAINING = ["board_certified", "residency_completed", "left_residency", "no_residency"]
TRAINING_WEIGHTS = [78, 10, 8, 4]
SPECIALTIES = [
    "primary_care",
    "im_subspecialty",
    "surgery",
    "pediatrics",
    "psychiatry",
    "emergency",
    "anesthesiology",
    "radiology",
    "pathology",
    "ob_gyn",
    "neurology",
    "other",
]
YEARS = ["<3", "3-5", "6-10", "11-20", ">20"]

SURVEY_COLUMNS = [
    "id",
    "post",
    "key_hash",
    "persona",
    "schema_version",
    "revision_count",
    "prospective",
    "flagged",
    "excluded",
    "created_at",
    "updated_at",
    "status",
    "search_started",
    "outcome_month",
    "as_of_month",
    "status_as_of",
    "duration",
    "paid_any",
    "paid_by_month_3",
    "spend",
    "employment_type",
    "role_category",
    "channel",
    "employer",
    "training",
    "comp_before",
    "comp_after",
    "applications",
    "interviews",
    "offers",
    "counts_inconsistent",
]
REVISION_COLUMNS = [
    "id",
    "survey",
    "number",
    "schema_version",
    "data",
    "status_as_of",
    "created_at",
]
PROGRAM_COLUMNS = [
    "id",
    "survey",
    "entity",
    "start_month",
    "cost",
    "helped",
    "would_recommend",
    "refund",
    "promised_placement",
    "income_claims",
]


def _simulate(rng: random.Random, paid: bool, months: int) -> tuple[str, int]:
    """(status, months until it) for up to ``months`` of follow-up."""
    hire = HIRE_RATE_PAID if paid else HIRE_RATE
    for month in range(months + 1):
        draw = rng.random()
        if draw < hire:
            return "hired_nonclinical", month
        if draw < hire + STOP_RATE:
            return "stopped_searching", month
        if draw < hire + STOP_RATE + RETURN_RATE:
            return "returned_clinical", month
    return "still_searching", months


def _respondent(rng: random.Random, now_month: int, employers: list, programs: list) -> dict:
    started = now_month - rng.randrange(0, 37)
    paid = rng.random() < 0.42
    followed = now_month - started
    if rng.random() < 0.25:  # some stop answering before today: censored earlier
        followed = rng.randrange(0, followed + 1)
    status, months = _simulate(rng, paid, followed)
    survey: dict = {"status": status, "search_started": month_text(started), "paid_any": paid}
    if status != "still_searching":
        survey["outcome_month"] = month_text(started + months)
    chosen_programs = []
    if paid and programs:
        for entity in rng.sample(programs, k=1 if rng.random() < 0.8 else 2):
            cost = int(round(min(60000, max(300, rng.lognormvariate(math.log(5500), 0.8))), -2))
            helped = rng.choice([1, 2, 2, 3, 3, 3, 4, 4, 5])
            chosen_programs.append(
                {
                    "entity": entity["slug"],
                    "start_month": month_text(
                        min(now_month, started + rng.choice([0, 0, 1, 2, 4, 6]))
                    ),
                    "cost_usd": cost,
                    "helped": helped,
                    "would_recommend": rng.random() < helped / 6,
                    "refund": rng.choices(["none", "asked", "received"], [80, 14, 6])[0],
                    "promised_placement": rng.random() < 0.3,
                    "income_claims": rng.random() < 0.45,
                    "_entity_id": entity["id"],
                }
            )
    survey["programs"] = chosen_programs
    if status == "hired_nonclinical":
        survey["employment_type"] = rng.choices(
            ["full_time", "part_time", "contract", "founder"], [80, 8, 9, 3]
        )[0]
        survey["role_category"] = rng.choices(ROLES, ROLE_WEIGHTS)[0]
        survey["channel"] = rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0]
        if employers and rng.random() < 0.6:
            employer = rng.choice(employers)
            survey["employer"], survey["_employer_id"] = employer["slug"], employer["id"]
        applications = max(1, int(rng.lognormvariate(math.log(25), 0.8)))
        interviews = max(1, min(applications, int(applications * rng.uniform(0.05, 0.3))))
        survey.update(
            applications=applications,
            interviews=interviews,
            offers=max(1, min(interviews, rng.choice([1, 1, 1, 2, 2, 3]))),
        )
        before = rng.choices(range(len(COMP_BANDS)), [2, 6, 12, 18, 20, 16, 11, 7, 4, 4])[0]
        after = max(0, min(len(COMP_BANDS) - 1, before + rng.choice([-2, -1, -1, 0, 0, 1])))
        survey["comp_before"], survey["comp_after"] = COMP_BANDS[before], COMP_BANDS[after]
        survey["satisfaction"] = rng.choice([2, 3, 4, 4, 5])
    survey["training"] = rng.choices(TRAINING, TRAINING_WEIGHTS)[0]
    survey["specialty_group"] = rng.choice(SPECIALTIES)
    survey["years_in_practice"] = rng.choice(YEARS)
    if survey.get("employer") or chosen_programs:
        survey["conflict_of_interest"] = rng.choices(
            ["none", "affiliate_referral_income", "works_for_entity"], [95, 3, 2]
        )[0]
    survey["_started"], survey["_as_of"] = started, started + months
    survey["_prospective"] = rng.random() < 0.35 or (
        status == "still_searching" and rng.random() < 0.5
    )
    return survey


async def seed_surveys(count: int, *, seed: int = 11) -> int:
    """Insert ``count`` standalone synthetic surveys; returns how many."""
    rng = random.Random(seed)
    entities = await ensure_entities()
    employers = [e for e in entities if e["kind"] == "employer"]
    programs = [e for e in entities if e["kind"] != "employer"]
    from offramp.forum.tables import Entity

    slugs = {row["id"]: row["slug"] for row in await Entity.select(Entity.id, Entity.slug)}
    for entity in entities:
        entity["slug"] = slugs[entity["id"]]
    now_month = current_month()
    made = 0
    while made < count:
        surveys, revisions, program_rows = [], [], []
        for _ in range(min(BATCH, count - made)):
            respondent = _respondent(rng, now_month, employers, programs)
            _rows_for(respondent, now_month, surveys, revisions, program_rows)
        await bulk_insert("survey", SURVEY_COLUMNS, surveys)
        await bulk_insert("survey_revision", REVISION_COLUMNS, revisions)
        await bulk_insert("survey_program", PROGRAM_COLUMNS, program_rows)
        made += len(surveys)
    return made


def _rows_for(survey: dict, now_month: int, surveys, revisions, programs) -> None:
    survey_id = new_id()
    started, as_of = survey.pop("_started"), survey.pop("_as_of")
    prospective = survey.pop("_prospective")
    employer_id = survey.pop("_employer_id", None)
    program_ids = [p.pop("_entity_id") for p in survey["programs"]]
    outcome = as_of if survey["status"] != "still_searching" else None
    as_of_month = as_of if outcome is None else max(as_of, min(now_month, as_of + 1))
    as_of_date = date(as_of_month // 12, as_of_month % 12 + 1, 1) + timedelta(days=14)
    as_of_date = min(as_of_date, date.today())
    created = this_hour() - timedelta(days=(now_month - started) * 30 + 8)
    costs = [p["cost_usd"] for p in survey["programs"]]
    paid_early = any(
        int(p["start_month"][:4]) * 12 + int(p["start_month"][5:]) - 1 <= started + 3
        for p in survey["programs"]
    )
    revision_count = 2 if prospective and survey["status"] != "still_searching" else 1
    surveys.append(
        (
            survey_id,
            None,
            None,
            None,
            1,
            revision_count,
            prospective,
            False,
            False,
            created,
            created,
            survey["status"],
            started,
            outcome,
            as_of_month,
            as_of_date,
            (outcome if outcome is not None else as_of_month) - started,
            survey["paid_any"],
            paid_early,
            sum(costs) if costs else None,
            survey.get("employment_type"),
            survey.get("role_category"),
            survey.get("channel"),
            employer_id,
            survey.get("training"),
            survey.get("comp_before"),
            survey.get("comp_after"),
            survey.get("applications"),
            survey.get("interviews"),
            survey.get("offers"),
            False,
        )
    )
    revisions.append(
        (new_id(), survey_id, revision_count, 1, json.dumps(survey), as_of_date, created)
    )
    for program, entity_id in zip(survey["programs"], program_ids, strict=True):
        start = int(program["start_month"][:4]) * 12 + int(program["start_month"][5:]) - 1
        programs.append(
            (
                new_id(),
                survey_id,
                entity_id,
                start,
                program["cost_usd"],
                program["helped"],
                program["would_recommend"],
                program["refund"],
                program["promised_placement"],
                program["income_claims"],
            )
        )


INTERVIEW_COLUMNS = [
    "id",
    "post",
    "employer",
    "role_category",
    "stage_reached",
    "outcome",
    "reason_given",
    "weeks_to_response",
    "difficulty",
    "created_at",
]


async def seed_interview_reports(per_employer: int = 40, *, seed: int = 13) -> int:
    """Interview reports on posts in the Interviews category (one per post), so the
    employer pages have outcomes to show. Returns how many were made."""
    from offramp.forum.tables import Post
    from offramp.surveys.tables import InterviewReport

    rng = random.Random(seed)
    employers = [e for e in await ensure_entities() if e["kind"] == "employer"]
    if await InterviewReport.count():
        return 0
    posts = await (
        Post.select(Post.id)
        .where(Post.thread.category == "interviews", Post.status == "published")
        .limit(per_employer * len(employers))
    )
    rows = []
    for row in posts:
        outcome = rng.choices(["offer", "rejected", "withdrew", "ghosted"], [22, 40, 8, 30])[0]
        reason = None
        if outcome == "rejected":
            reason = rng.choices(
                [
                    "fit",
                    "lack_of_business_experience",
                    "needs_certification_or_degree",
                    "overqualified",
                    "no_reason_given",
                    "other",
                ],
                [25, 30, 10, 8, 22, 5],
            )[0]
        rows.append(
            (
                new_id(),
                row["id"],
                rng.choice(employers)["id"],
                rng.choices(ROLES, ROLE_WEIGHTS)[0],
                rng.choice(
                    [
                        "screen",
                        "panel",
                        "panel",
                        "final",
                        "offer" if outcome == "offer" else "final",
                    ]
                ),
                outcome,
                reason,
                None if outcome == "ghosted" else rng.randint(1, 8),
                rng.randint(1, 5),
                this_hour(),
            )
        )
    await bulk_insert("interview_report", INTERVIEW_COLUMNS, rows)
    return len(rows)
