"""The survey forms without JavaScript: attached to a post, tracking a search, updating."""

from __future__ import annotations

import re

from litestar.testing import TestClient

from offramp.forum.seed import ensure_entities
from offramp.surveys.schemas import current_month, month_text
from offramp.surveys.tables import InterviewReport, Survey

from ..conftest import submit

STARTED = month_text(current_month() - 4)
SEARCHING = {
    "survey.status": "still_searching",
    "survey.search_started": STARTED,
    "survey.paid_any": "yes",
    "survey.programs.0.entity": "WCEA",
    "survey.programs.0.cost_usd": "2450",
    "survey.conflict_of_interest": "none",
}


def key_of(html: str) -> str:
    return re.search(r'id="edit-key" type="text" readonly value="([^"]+)"', html).group(1)


def test_a_thread_with_a_survey_and_an_interview_report(client: TestClient):
    client.blocking_portal.call(ensure_entities)
    form = {
        "title": "Calder panel, then nothing",
        "category": "interviews",
        "body": "Waited.",
        "action": "publish",
        **SEARCHING,
        "interview.employer": "Calder",
        "interview.role_category": "payer_medical_director",
        "interview.stage_reached": "panel",
        "interview.outcome": "ghosted",
    }
    response = submit(client, "/new", form)
    assert response.status_code == 201, response.text
    assert client.blocking_portal.call(lambda: Survey.count().run()) == 1
    report = client.blocking_portal.call(lambda: InterviewReport.select().first().run())
    assert report["outcome"] == "ghosted"


def test_survey_errors_keep_the_answers_and_name_the_field(client: TestClient):
    client.blocking_portal.call(ensure_entities)
    form = {
        "title": "A thread with a bad survey",
        "category": "coaching",
        "body": "x",
        "action": "publish",
        **SEARCHING,
        "survey.status": "hired_nonclinical",
        "survey.outcome_month": month_text(current_month()),
    }
    response = submit(client, "/new", form)
    assert response.status_code == 422
    assert 'id="survey-employment_type-error"' in response.text
    assert f'value="{STARTED}"' in response.text  # nothing typed is lost
    assert '<details class="survey-box" open>' in response.text
    assert client.get("/api/v1/threads").json()["threads"] == []


def test_track_then_update_with_the_key(client: TestClient):
    client.blocking_portal.call(ensure_entities)
    assert "Why this matters" in client.get("/surveys/track").text
    tracked = client.post("/surveys/track", data=SEARCHING)
    assert tracked.status_code == 201 and tracked.headers["cache-control"] == "no-store"
    key = key_of(tracked.text)
    opened = client.post("/surveys/update", data={"edit_key": key})
    assert opened.status_code == 200 and 'value="2500"' in opened.text  # rounded to $100
    hired = {
        **SEARCHING,
        "edit_key": key,
        "survey.status": "hired_nonclinical",
        "survey.outcome_month": month_text(current_month()),
        "survey.employment_type": "contract",
        "survey.role_category": "consulting",
        "survey.channel": "mentor",
    }
    saved = client.post("/surveys/update", data=hired)
    assert saved.status_code == 200 and "revision 2" in saved.text
    wrong = client.post("/surveys/update", data={"edit_key": "not-a-key-at-all"})
    assert wrong.status_code == 403 and "No survey or post has that edit key" in wrong.text


def test_a_post_key_adds_a_survey_to_a_post_without_one(client: TestClient):
    client.blocking_portal.call(ensure_entities)
    created = client.post(
        "/api/v1/threads", json={"title": "No survey yet", "body": "x", "category": "coaching"}
    ).json()
    form = client.post("/surveys/update", data={"edit_key": created["edit_key"]})
    assert "Add a survey to your post" in form.text
    saved = client.post("/surveys/update", data={"edit_key": created["edit_key"], **SEARCHING})
    assert saved.status_code == 200
    row = client.blocking_portal.call(lambda: Survey.select(Survey.post).first().run())
    assert row["post"] == created["post"]["id"]
