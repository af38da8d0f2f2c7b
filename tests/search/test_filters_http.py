"""Search filters over HTTP: the API's parameters and the search page's fields, with
surveys and interview reports attached the way posters attach them."""

from __future__ import annotations

from litestar.testing import TestClient

from offramp.surveys.schemas import current_month, month_text

from ..forum.test_api import assert_error, start_thread
from .conftest import seed_entities


def test_role_filter_in_the_api_and_on_the_page(client: TestClient):
    tagged = start_thread(client, body="The zebrafish study.", role_tags=["clinical_development"])
    start_thread(client, body="Another zebrafish study.")
    api = client.get("/api/v1/search", params={"q": "zebrafish", "role": "clinical_development"})
    assert [r["post_id"] for r in api.json()["results"]] == [tagged["post"]["id"]]
    bad = client.get("/api/v1/search", params={"q": "zebrafish", "role": "astronaut"})
    assert_error(bad, 422, field="role")
    page = client.get("/search", params={"q": "zebrafish", "role": "clinical_development"})
    assert page.status_code == 200
    assert page.text.count('class="thread-title"') == 1
    assert '<option value="clinical_development" selected>' in page.text
    wrong = client.get("/search", params={"q": "zebrafish", "role": "astronaut"})
    assert wrong.status_code == 422 and 'href="#search-role"' in wrong.text


def _months_ago(n: int) -> str:
    return month_text(current_month() - n)


SURVEY = {"status": "still_searching", "search_started": _months_ago(3), "paid_any": False}
INTERVIEW = {
    "employer": "Calder Health Plan",
    "role_category": "payer_medical_director",
    "stage_reached": "final",
    "outcome": "ghosted",
}


def _reply(client: TestClient, thread: dict, **body) -> dict:
    response = client.post(f"/api/v1/threads/{thread['thread']['id']}/posts", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_survey_and_interview_filters_find_only_public_posts_carrying_them(client: TestClient):
    seed_entities(client)
    surveyed = start_thread(client, category="getting-started", body="Quokka one.", survey=SURVEY)
    _reply(client, surveyed, body="Quokka reply without a survey.")
    interviewed = start_thread(client, body="Quokka two.", interview=INTERVIEW)
    plain = start_thread(client, category="coaching", body="Quokka three.")
    surveyed_reply = _reply(client, plain, body="Quokka reply with one.", survey=SURVEY)
    start_thread(client, body="Quokka later.", survey=SURVEY, delay_publication=True)
    deleted = _reply(client, plain, body="Quokka gone.", survey=SURVEY)
    gone = client.delete(
        f"/api/v1/posts/{deleted['post']['id']}",
        headers={"Authorization": f"Bearer {deleted['edit_key']}"},
    )
    assert gone.status_code == 200

    def found(**filters) -> set[str]:
        response = client.get("/api/v1/search", params={"q": "quokka", **filters})
        assert response.status_code == 200, response.text
        return {result["post_id"] for result in response.json()["results"]}

    assert len(found()) == 5
    assert found(has_survey="true") == {surveyed["post"]["id"], surveyed_reply["post"]["id"]}
    assert found(has_interview="true") == {interviewed["post"]["id"]}
    assert found(has_survey="true", has_interview="true") == set()
    assert found(has_survey="true", category="coaching") == {surveyed_reply["post"]["id"]}
    assert_error(
        client.get("/api/v1/search", params={"q": "quokka", "has_survey": "maybe"}),
        422,
        field="has_survey",
    )

    page = client.get("/search", params={"q": "quokka", "has_interview": "true"})
    assert page.status_code == 200 and page.text.count('class="thread-title"') == 1
    assert 'name="has_interview" value="true" checked' in page.text
    assert 'name="has_survey" value="true">' in page.text
    bad = client.get("/search", params={"q": "quokka", "has_survey": "maybe"})
    assert bad.status_code == 422 and "has_survey" in bad.text
