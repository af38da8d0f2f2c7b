"""Outcome surveys over the API: schema v1 rules, revisions, tracking, interview reports."""

from __future__ import annotations

import json
from datetime import date

import pytest
from litestar.testing import TestClient

from offramp.surveys.schemas import current_month, month_text
from offramp.surveys.tables import Survey, SurveyProgram, SurveyRevision


def months_ago(n: int) -> str:
    return month_text(current_month() - n)


HIRED = {
    "status": "hired_nonclinical",
    "search_started": months_ago(10),
    "outcome_month": months_ago(1),
    "employment_type": "full_time",
    "role_category": "medical_affairs",
    "channel": "networking_referral",
    "paid_any": False,
}
SEARCHING = {"status": "still_searching", "search_started": months_ago(2), "paid_any": True}


@pytest.fixture
def seeded(client: TestClient):
    from offramp.forum.seed import ensure_entities

    client.blocking_portal.call(ensure_entities)
    return client


def thread_with(client, survey=None, **extra) -> dict:
    body = {
        "title": "How my search went",
        "category": "getting-started",
        "body": "Details.",
        **extra,
    }
    if survey is not None:
        body["survey"] = survey
    return client.post("/api/v1/threads", json=body)


def error_of(response) -> dict:
    assert response.status_code == 422, response.text
    return response.json()["error"]


def test_a_survey_rides_along_with_a_new_thread(seeded: TestClient):
    survey = {
        **HIRED,
        "employer": "Meridian Therapeutics",
        "conflict_of_interest": "none",
        "applications": 40,
        "interviews": 5,
        "offers": 1,
        "comp_before": "250k_300k",
        "comp_after": "200k_250k",
    }
    created = thread_with(seeded, survey)
    assert created.status_code == 201, created.text
    post_id = created.json()["post"]["id"]
    key = created.json()["edit_key"]
    row = seeded.blocking_portal.call(
        lambda: Survey.select().where(Survey.post == post_id).first().run()
    )
    assert row["status"] == "hired_nonclinical" and row["duration"] == 9
    assert row["prospective"] is False and row["status_as_of"] == date.today()
    read = seeded.put(
        f"/api/v1/posts/{post_id}/survey",
        json={**survey, "satisfaction": 4},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert read.status_code == 200 and read.json()["revision"] == 2
    assert read.json()["data"]["satisfaction"] == 4


@pytest.mark.parametrize(
    ("survey", "field", "words"),
    [
        ({**HIRED, "status": "retired"}, "survey.status", "hired_nonclinical"),
        ({**HIRED, "search_started": "2025-13"}, "survey.search_started", "YYYY-MM"),
        (
            {**HIRED, "search_started": month_text(current_month() + 2)},
            "survey.search_started",
            "future",
        ),
        ({**HIRED, "outcome_month": None}, "survey.outcome_month", "required"),
        ({**SEARCHING, "outcome_month": months_ago(1)}, "survey.outcome_month", "empty"),
        ({**HIRED, "outcome_month": months_ago(12)}, "survey.outcome_month", "before"),
        ({**HIRED, "channel": None}, "survey.channel", "required when status"),
        ({**HIRED, "employer": "Meridian Therapeutics"}, "survey.conflict_of_interest", "none"),
        ({**HIRED, "applications": 1001}, "survey.applications", "1000"),
        ({**HIRED, "comp_after": "a lot"}, "survey.comp_after", "500k_plus"),
        (
            {**HIRED, "employer": "Nobody Inc", "conflict_of_interest": "none"},
            "survey.employer",
            "No employer",
        ),
        (
            {
                **SEARCHING,
                "programs": [{"entity": "Meridian Therapeutics"}],
                "conflict_of_interest": "none",
            },
            "survey.programs.0.entity",
            "is an employer, not a program or a certification",
        ),
    ],
)
def test_errors_name_the_field_and_what_is_allowed(seeded, survey, field, words):
    error = error_of(thread_with(seeded, survey))
    assert error["field"] == field, error
    assert words in error["message"], error
    assert seeded.get("/api/v1/threads").json()["threads"] == []  # nothing half-written


def test_costs_are_rounded_and_inconsistent_counts_flagged_not_refused(seeded):
    survey = {
        **SEARCHING,
        "conflict_of_interest": "none",
        "other_costs_usd": 1249,
        "programs": [
            {
                "entity": "Physician Pivot Accelerator",
                "cost_usd": 8949,
                "start_month": months_ago(1),
            }
        ],
        "applications": 3,
        "interviews": 9,
    }
    created = seeded.post("/api/v1/surveys", json=survey)
    assert created.status_code == 201, created.text
    data = created.json()["survey"]["data"]
    assert data["programs"][0]["cost_usd"] == 8900 and data["other_costs_usd"] == 1200
    row = seeded.blocking_portal.call(
        lambda: Survey.select().where(Survey.id == created.json()["survey"]["id"]).first().run()
    )
    assert row["spend"] == 10100 and row["counts_inconsistent"] is True
    assert row["paid_by_month_3"] is True


def test_start_tracking_then_update_with_the_key(seeded):
    created = seeded.post("/api/v1/surveys", json=SEARCHING)
    assert created.status_code == 201
    survey_id, key = created.json()["survey"]["id"], created.json()["edit_key"]
    assert created.json()["survey"]["prospective"] is True
    auth = {"Authorization": f"Bearer {key}"}
    assert seeded.get(f"/api/v1/surveys/{survey_id}").status_code == 401
    assert (
        seeded.get(
            f"/api/v1/surveys/{survey_id}", headers={"Authorization": "Bearer nope"}
        ).status_code
        == 403
    )
    hired = {
        **HIRED,
        "search_started": SEARCHING["search_started"],
        "outcome_month": months_ago(0),
        "paid_any": True,
    }
    updated = seeded.put(f"/api/v1/surveys/{survey_id}", json=hired, headers=auth)
    assert updated.status_code == 200, updated.text
    assert updated.json()["revision"] == 2 and updated.json()["prospective"] is True
    revisions = seeded.blocking_portal.call(
        lambda: (
            SurveyRevision.select(SurveyRevision.number, SurveyRevision.data)
            .where(SurveyRevision.survey == survey_id)
            .order_by(SurveyRevision.number)
            .run()
        )
    )
    assert [json.loads(r["data"])["status"] for r in revisions] == [
        "still_searching",
        "hired_nonclinical",
    ]
    assert key not in str(revisions)


def test_programs_follow_the_latest_revision(seeded):
    survey = {
        **SEARCHING,
        "conflict_of_interest": "none",
        "programs": [{"entity": "wcea", "cost_usd": 3000}],
    }
    created = seeded.post("/api/v1/surveys", json=survey)
    survey_id, key = created.json()["survey"]["id"], created.json()["edit_key"]
    seeded.put(
        f"/api/v1/surveys/{survey_id}",
        json={**survey, "programs": []},
        headers={"Authorization": f"Bearer {key}"},
    )
    count = seeded.blocking_portal.call(
        lambda: SurveyProgram.count().where(SurveyProgram.survey == survey_id).run()
    )
    assert count == 0


def test_interview_reports_belong_to_the_interviews_category(seeded):
    report = {
        "employer": "Calder Health Plan",
        "role_category": "payer_medical_director",
        "stage_reached": "final",
        "outcome": "ghosted",
        "weeks_to_response": 6,
    }
    wrong = thread_with(seeded, None, interview=report)
    assert error_of(wrong)["field"] == "interview"
    right = thread_with(seeded, None, interview=report, category="interviews")
    assert right.status_code == 201, right.text
    bad = thread_with(
        seeded, None, category="interviews", interview={**report, "outcome": "vanished"}
    )
    assert bad.status_code == 422 and "ghosted" in bad.json()["error"]["message"]


def test_surveys_are_never_listed_publicly(seeded):
    created = thread_with(seeded, HIRED)
    page = seeded.get(created.json()["thread"]["url"]).text
    assert "medical_affairs" not in page and "networking_referral" not in page
    thread = seeded.get(f"/api/v1/threads/{created.json()['thread']['id']}").text
    assert "survey" not in thread
