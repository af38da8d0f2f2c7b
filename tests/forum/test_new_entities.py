"""Posters naming employers and programs that are not in the directory (SPEC §2): a
clear error that suggests close names, an opt-in "add it" path that creates a pending
entry in the post's own transaction, and confirmation by a second, independent mention."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient

from offramp.forum.entities import near_duplicates
from offramp.forum.seed import ensure_entities
from offramp.forum.tables import Entity, EntityAlias
from offramp.moderation.tables import LogEntry
from offramp.surveys.tables import Survey

from ..conftest import submit
from ..surveys.test_surveys import HIRED, SEARCHING


@pytest.fixture
def seeded(client: TestClient) -> TestClient:
    client.blocking_portal.call(ensure_entities)
    return client


def new_thread(client: TestClient, **extra):
    body = {"title": "A new employer", "category": "employers", "body": "What happened.", **extra}
    return client.post("/api/v1/threads", json=body)


def entity_row(client: TestClient, name: str) -> dict | None:
    return client.blocking_portal.call(
        lambda: Entity.select().where(Entity.name == name).first().run()
    )


def test_an_unknown_name_suggests_close_ones_and_writes_nothing(seeded: TestClient):
    count = seeded.blocking_portal.call(lambda: Entity.count().run())
    refused = new_thread(seeded, entity="Meridian Therapeutic")  # a typo
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "unknown_entity" and error["field"] == "entity"
    assert "Did you mean “Meridian Therapeutics”?" in error["message"]
    assert seeded.blocking_portal.call(lambda: Entity.count().run()) == count
    assert seeded.get("/api/v1/threads").json()["threads"] == []


def test_near_duplicates_on_both_engines(seeded: TestClient):
    for typo, expected in [
        ("Northbrige Utilization Review", "Northbridge Utilization Review"),
        ("calder health", "Calder Health Plan"),
        ("Lumen Clinical Reserch", "Lumen Clinical Research"),
    ]:
        found = seeded.blocking_portal.call(near_duplicates, typo)
        assert expected in [similar.name for similar in found], (typo, found)
    assert seeded.blocking_portal.call(near_duplicates, "Zzyzx Quorum") == []


def test_a_new_entity_needs_its_kind_and_is_pending(seeded: TestClient):
    no_kind = new_thread(seeded, entity="Acme Advisory Partners", new_entities=True)
    assert no_kind.status_code == 422 and no_kind.json()["error"]["field"] == "entity_kind"
    assert entity_row(seeded, "Acme Advisory Partners") is None

    created = new_thread(
        seeded, entity="Acme  Advisory Partners", new_entities=True, entity_kind="employer"
    )
    assert created.status_code == 201, created.text
    entity = created.json()["thread"]["entity"]
    assert entity["name"] == "Acme Advisory Partners" and entity["kind"] == "employer"
    row = entity_row(seeded, "Acme Advisory Partners")
    assert row["status"] == "pending" and row["pending_source"] == created.json()["thread"]["id"]

    page = seeded.get(entity["url"])
    assert page.status_code == 200 and "awaits confirmation" in page.text
    assert '<meta name="robots" content="noindex">' in page.text
    listed = [e["slug"] for e in seeded.get("/api/v1/entities").json()]
    assert entity["slug"] not in listed  # pending entries are listed nowhere
    assert entity["slug"] not in seeded.get("/entities").text
    assert entity["url"] not in seeded.get("/sitemap.xml").text


def test_a_second_mention_in_the_same_thread_does_not_confirm(seeded: TestClient):
    created = new_thread(
        seeded, entity="Quill Medical Writing", new_entities=True, entity_kind="employer"
    ).json()
    thread_id = created["thread"]["id"]
    reply = seeded.post(
        f"/api/v1/threads/{thread_id}/posts",
        json={
            "body": "Same place.",
            "survey": {
                **HIRED,
                "employer": "quill medical writing",
                "conflict_of_interest": "none",
            },
        },
    )
    assert reply.status_code == 201, reply.text
    assert entity_row(seeded, "Quill Medical Writing")["status"] == "pending"


def test_an_independent_mention_confirms_and_is_logged(seeded: TestClient):
    new_thread(seeded, entity="Quill Medical Writing", new_entities=True, entity_kind="employer")
    other = new_thread(seeded, title="Another one", entity="QUILL medical-writing")
    assert other.status_code == 201, other.text
    row = entity_row(seeded, "Quill Medical Writing")
    assert row["status"] == "approved" and row["pending_source"] is None
    assert row["slug"] in [e["slug"] for e in seeded.get("/api/v1/entities").json()]
    log = seeded.get("/moderation/log.json").json()["entries"]
    assert log[0]["action"] == "confirm_entity" and log[0]["role"] == "automatic"
    assert log[0]["target"] == "“Quill Medical Writing”"


def test_a_refused_post_leaves_no_entity_behind(seeded: TestClient):
    refused = new_thread(
        seeded,
        entity="Orphan Staffing Group",
        new_entities=True,
        entity_kind="employer",
        category="no-such-category",
    )
    assert refused.status_code == 404
    survey_refused = new_thread(
        seeded,
        new_entities=True,
        survey={**SEARCHING, "programs": [{"entity": "Brand New Bootcamp", "cost_usd": -5}]},
    )
    assert survey_refused.status_code == 422
    for name in ("Orphan Staffing Group", "Brand New Bootcamp"):
        assert entity_row(seeded, name) is None
    keys = seeded.blocking_portal.call(
        lambda: EntityAlias.count().where(EntityAlias.key == "brand new bootcamp").run()
    )
    assert keys == 0


def test_survey_names_become_entities_of_their_field_kind(seeded: TestClient):
    created = new_thread(
        seeded,
        new_entities=True,
        survey={
            **SEARCHING,
            "programs": [{"entity": "Second Act Physician Academy", "cost_usd": 9000}],
            "conflict_of_interest": "none",
        },
    )
    assert created.status_code == 201, created.text
    program = entity_row(seeded, "Second Act Physician Academy")
    assert program["kind"] == "program" and program["status"] == "pending"
    tracking = seeded.post(
        "/api/v1/surveys?new_entities=true",
        json={
            **SEARCHING,
            "programs": [{"entity": "second act physician academy"}],
            "conflict_of_interest": "none",
        },
    )
    assert tracking.status_code == 201, tracking.text
    assert entity_row(seeded, "Second Act Physician Academy")["status"] == "approved"
    # Without the flag an unknown name is refused, naming the field.
    refused = seeded.post(
        "/api/v1/surveys",
        json={
            **SEARCHING,
            "programs": [{"entity": "Nowhere Course"}],
            "conflict_of_interest": "none",
        },
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "survey.programs.0.entity"


def test_pending_entities_get_no_figures_of_their_own(seeded: TestClient, settings):
    from offramp.stats.service import Statistics
    from offramp.stats.tables import StatsFigure

    new_thread(
        seeded,
        new_entities=True,
        survey={
            **SEARCHING,
            "programs": [{"entity": "Pending Program Co"}],
            "conflict_of_interest": "none",
        },
    )
    slug = entity_row(seeded, "Pending Program Co")["slug"]
    seeded.blocking_portal.call(Statistics(k=settings.stats_min_cell).rebuild)
    scopes = seeded.blocking_portal.call(
        lambda: StatsFigure.select(StatsFigure.scope).where(StatsFigure.scope == slug).run()
    )
    assert scopes == []
    assert seeded.blocking_portal.call(lambda: Survey.count().run()) == 1


def test_the_html_form_offers_to_add_a_new_name(seeded: TestClient):
    fields = {
        "title": "An employer nobody has named",
        "category": "employers",
        "entity": "Zenith Review Services",
        "body": "What happened there.",
        "action": "publish",
    }
    first = submit(seeded, "/new", data=fields)
    assert first.status_code == 422
    assert "Add the names that are not in the directory as new entries" in first.text
    missing_kind = submit(seeded, "/new", data={**fields, "new_entities": "yes"})
    assert missing_kind.status_code == 422 and 'id="entity_kind-error"' in missing_kind.text
    done = submit(seeded, "/new", data={**fields, "new_entities": "yes", "entity_kind": "employer"})
    assert done.status_code == 201, done.text
    assert entity_row(seeded, "Zenith Review Services")["status"] == "pending"


def test_confirmation_log_entries_name_nobody(seeded: TestClient):
    new_thread(seeded, entity="Vantage Advisors", new_entities=True, entity_kind="employer")
    new_thread(seeded, title="Second thread", entity="Vantage Advisors")
    rows = seeded.blocking_portal.call(
        lambda: LogEntry.select().where(LogEntry.action == "confirm_entity").run()
    )
    assert len(rows) == 1 and rows[0]["moderator"] is None and rows[0]["post"] is None


async def test_two_posts_adding_one_name_at_once_make_one_entity(forum):
    """Both find the name free before writing; one wins, the other is a clear 409
    (never a 500 from the unique index) and leaves nothing behind."""
    import asyncio

    from offramp.errors import Conflict
    from offramp.forum.entities import EntityPlan
    from offramp.forum.schemas import ThreadCreate

    async def add(title: str):
        data = ThreadCreate(
            title=title,
            category="employers",
            body="Same new name.",
            entity="Simultaneous Health",
            entity_kind="employer",
            new_entities=True,
        )
        return await forum.create_thread(data, plan=EntityPlan(allow_new=True))

    results = await asyncio.gather(
        add("First of two"), add("Second of two"), return_exceptions=True
    )
    conflicts = [r for r in results if isinstance(r, Conflict)]
    created = [r for r in results if not isinstance(r, BaseException)]
    assert len(created) == 1 and len(conflicts) == 1, results
    assert conflicts[0].code == "entity_added"
    assert await Entity.count().where(Entity.name == "Simultaneous Health") == 1
    threads = (await forum.threads()).threads
    assert [thread.title for thread in threads] == [created[0].thread.title]


@pytest.mark.parametrize(
    ("survey", "field"),
    [
        ({**HIRED, "employer": "Nul\x00Employer"}, "survey.employer"),
        ({**SEARCHING, "programs": [{"entity": "Nul\x00Course"}]}, "survey.programs.0.entity"),
        ({**SEARCHING, "programs": [{"entity": "Bell\x07Course"}]}, "survey.programs.0.entity"),
    ],
)
def test_names_with_control_characters_are_refused(seeded: TestClient, survey, field):
    """PostgreSQL cannot even compare text holding a NUL: a clear 422, never a 500."""
    for new_entities in ("false", "true"):
        refused = seeded.post(
            f"/api/v1/surveys?new_entities={new_entities}",
            json={**survey, "conflict_of_interest": "none"},
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["field"] == field
