"""Moderators and the directory: pending entries and flagged surveys in the queue,
approve / reject / edit (rename) / merge, clearing or excluding surveys held out as a
burst — each one transaction, each in the public log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from litestar.testing import TestClient

from offramp.forum.seed import ensure_entities
from offramp.forum.tables import Entity, Thread
from offramp.ids import this_hour
from offramp.search.tables import SearchDocument
from offramp.stats.service import Statistics
from offramp.surveys.tables import Survey, SurveyProgram

from ..surveys.test_surveys import HIRED, SEARCHING
from .conftest import LoggedIn


@pytest.fixture
def seeded(moderator: LoggedIn, reader) -> LoggedIn:
    moderator.client.blocking_portal.call(ensure_entities)
    return moderator


def call(client: TestClient, query):
    return client.blocking_portal.call(lambda: query.run())


def add_pending(reader, name: str, kind: str = "employer", **extra) -> dict:
    created = reader.post(
        "/api/v1/threads",
        json={
            "title": f"About {name}",
            "category": "employers",
            "body": "What happened there.",
            "entity": name,
            "new_entities": True,
            "entity_kind": kind,
            **extra,
        },
    )
    assert created.status_code == 201, created.text
    return created.json()


def act(moderator: LoggedIn, slug: str, **body):
    return moderator.client.post(f"/api/v1/moderation/entities/{slug}/actions", json=body)


def test_pending_entries_are_in_the_queue_and_can_be_approved(seeded: LoggedIn, reader):
    thread = add_pending(reader, "Beacon Review Partners")
    slug = thread["thread"]["entity"]["slug"]
    queue = seeded.client.get("/api/v1/moderation/queue").json()
    item = next(item for item in queue if item["kind"] == "entity")
    assert item["title"] == "Beacon Review Partners (employer)"
    assert item["url"] == f"/moderation/entities/{slug}"
    review = seeded.client.get(f"/api/v1/moderation/entities/{slug}").json()
    assert review["status"] == "pending" and review["threads"] == 1

    approved = act(seeded, slug, action="approve")
    assert approved.status_code == 201, approved.text
    entry = approved.json()
    assert entry["action"] == "approve_entity" and entry["target"] == "“Beacon Review Partners”"
    assert entry["url"] == f"/entities/{slug}"
    assert not [i for i in seeded.client.get("/api/v1/moderation/queue").json() if i["kind"]]
    again = act(seeded, slug, action="approve")
    assert again.status_code == 409
    assert slug in [e["slug"] for e in reader.get("/api/v1/entities").json()]


def test_rejecting_removes_the_entry_and_logs_no_name(seeded: LoggedIn, reader):
    thread = add_pending(
        reader,
        "Dr Someone Private Practice",
        survey={**HIRED, "employer": "Dr Someone Private Practice", "conflict_of_interest": "none"},
    )
    slug = thread["thread"]["entity"]["slug"]
    no_reason = act(seeded, slug, action="reject")
    assert no_reason.status_code == 422 and no_reason.json()["error"]["field"] == "reason"
    rejected = act(seeded, slug, action="reject", reason="Names a person, not an employer.")
    assert rejected.status_code == 201, rejected.text
    entry = rejected.json()
    assert "Someone" not in str(entry) and entry["target"] == "an entry no longer in the directory"
    client = seeded.client
    assert call(client, Entity.count().where(Entity.slug == slug)) == 0
    assert call(client, Thread.select(Thread.entity)) == [{"entity": None}]
    assert call(client, Survey.select(Survey.employer)) == [{"employer": None}]
    assert call(client, SearchDocument.count().where(SearchDocument.entity.is_not_null())) == 0
    assert reader.get(thread["thread"]["url"]).status_code == 200
    assert reader.get(f"/entities/{slug}").status_code == 404
    assert "Someone" not in reader.get("/moderation/log").text


def test_merging_moves_everything_and_the_old_page_redirects(seeded: LoggedIn, reader):
    duplicate = add_pending(
        reader,
        "Meridian Therapeutix",
        survey={**HIRED, "employer": "Meridian Therapeutix", "conflict_of_interest": "none"},
    )
    old_slug = duplicate["thread"]["entity"]["slug"]
    bad = act(seeded, old_slug, action="merge", reason="Duplicate", into="Calder Health Plan x")
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "into"
    other = reader.post(
        "/api/v1/threads",
        json={"title": "Its MSL team", "category": "employers", "body": "x", "entity": "Meridian"},
    )
    assert other.status_code == 201
    merged = act(seeded, old_slug, action="merge", reason="A misspelling.", into="Meridian")
    assert merged.status_code == 201, merged.text
    entry = merged.json()
    assert entry["detail"] == "“Meridian Therapeutix” merged into “Meridian Therapeutics”."
    client = seeded.client
    meridian = call(client, Entity.select().where(Entity.name == "Meridian Therapeutics").first())
    assert call(client, Thread.count().where(Thread.entity == meridian["id"])) == 2
    assert call(client, Survey.count().where(Survey.employer == meridian["id"])) == 1
    assert "Meridian Therapeutix" in meridian["aliases"].splitlines()
    assert meridian["thread_count"] == 2
    moved = reader.get(f"/entities/{old_slug}", follow_redirects=False)
    assert moved.status_code == 301
    assert moved.headers["location"] == f"/entities/{meridian['slug']}"
    # The old name now resolves to the merged entry when posting.
    again = reader.post(
        "/api/v1/threads",
        json={
            "title": "Again",
            "category": "employers",
            "body": "x",
            "entity": "meridian therapeutix",
        },
    )
    assert again.json()["thread"]["entity"]["slug"] == meridian["slug"]
    found = reader.get("/api/v1/search", params={"q": "happened", "entity": meridian["slug"]})
    assert found.status_code == 200 and found.json()["results"]


def test_merge_refuses_a_different_kind(seeded: LoggedIn, reader):
    thread = add_pending(reader, "Physician Pivot Accelerator Two", kind="program")
    slug = thread["thread"]["entity"]["slug"]
    refused = act(seeded, slug, action="merge", reason="Duplicate", into="Meridian Therapeutics")
    assert (
        refused.status_code == 422 and "edit the kind first" in refused.json()["error"]["message"]
    )
    assert call(seeded.client, Entity.count().where(Entity.slug == slug)) == 1


def test_renaming_moves_the_page_and_keeps_the_old_name(seeded: LoggedIn, reader):
    thread = add_pending(reader, "Harbour Advisory")
    slug = thread["thread"]["entity"]["slug"]
    act(seeded, slug, action="approve")
    renamed = act(
        seeded,
        slug,
        action="edit",
        reason="Its real name.",
        name="Harbour Advisory Group",
        website="https://harbour.example",
        aliases=["HAG"],
    )
    assert renamed.status_code == 201, renamed.text
    entry = renamed.json()
    assert entry["detail"].startswith("Renamed from “Harbour Advisory” to “Harbour Advisory Group”")
    assert entry["url"] == "/entities/harbour-advisory-group"
    page = reader.get("/entities/harbour-advisory-group")
    assert "Harbour Advisory Group" in page.text and "HAG" in page.text
    assert 'rel="nofollow ugc noopener noreferrer"' in page.text
    old = reader.get(f"/entities/{slug}", follow_redirects=False)
    assert old.status_code == 301 and old.headers["location"] == "/entities/harbour-advisory-group"
    for name in ("Harbour Advisory", "hag"):
        posted = reader.post(
            "/api/v1/threads",
            json={"title": "Again here", "category": "employers", "body": "x", "entity": name},
        )
        assert posted.json()["thread"]["entity"]["slug"] == "harbour-advisory-group"
    taken = act(seeded, "harbour-advisory-group", action="edit", reason="x", aliases=["Calder"])
    assert taken.status_code == 409 and "merge the two" in taken.json()["error"]["message"]
    bad_site = act(seeded, "harbour-advisory-group", action="edit", reason="x", website="ftp://x")
    assert bad_site.status_code == 422 and bad_site.json()["error"]["field"] == "website"
    nothing = act(seeded, "harbour-advisory-group", action="edit", reason="x")
    assert nothing.status_code == 409


def flag_a_burst(client, program: str, count: int = 12) -> None:
    """``count`` surveys naming ``program`` this week, with no history: a burst."""
    for _ in range(count):
        sent = client.post(
            "/api/v1/surveys",
            json={**SEARCHING, "programs": [{"entity": program}], "conflict_of_interest": "none"},
        )
        assert sent.status_code == 201, sent.text
    client.client.blocking_portal.call(Statistics().flag_bursts, this_hour() + timedelta(hours=1))


@pytest.mark.parametrize("decision", ["clear_surveys", "exclude_surveys"])
def test_flagged_surveys_are_decided_from_the_queue(seeded: LoggedIn, reader, decision):
    flag_a_burst(reader, "Physician Pivot Accelerator")
    client = seeded.client
    assert call(client, Survey.count().where(Survey.flagged == True)) == 12  # noqa: E712
    item = next(i for i in client.get("/api/v1/moderation/queue").json() if i["kind"] == "surveys")
    assert item["why"] == ["Surveys arrived in a burst ×12"]
    slug = item["url"].rsplit("/", 1)[1]
    assert client.get(f"/api/v1/moderation/entities/{slug}").json()["flagged_surveys"] == 12
    assert "held out of these figures" in reader.get(f"/entities/{slug}").text

    decided = act(seeded, slug, action=decision, reason="Checked the burst.")
    assert decided.status_code == 201, decided.text
    excluded = decision == "exclude_surveys"
    rows = call(client, Survey.select(Survey.flagged, Survey.excluded, Survey.reviewed))
    assert rows == [{"flagged": False, "excluded": excluded, "reviewed": True}] * 12
    assert not [i for i in client.get("/api/v1/moderation/queue").json() if i["kind"]]
    assert "held out of these figures" not in reader.get(f"/entities/{slug}").text
    # Reviewed surveys are never flagged again by the same burst.
    client.blocking_portal.call(Statistics().flag_bursts, this_hour() + timedelta(hours=2))
    assert call(client, Survey.count().where(Survey.flagged == True)) == 0  # noqa: E712
    assert act(seeded, slug, action=decision, reason="Again").status_code == 409
    log = reader.get("/moderation/log.json").json()["entries"][0]
    assert log["action"] == decision and "12" not in log["detail"]  # no counts in public
    assert call(client, SurveyProgram.count()) == 12


def test_entity_pages_work_without_javascript(seeded: LoggedIn, reader):
    thread = add_pending(reader, "Form Path Staffing")
    slug = thread["thread"]["entity"]["slug"]
    client = seeded.client
    page = client.get(f"/moderation/entities/{slug}")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "Approve the entry" in page.text and "Merge into another entry" in page.text
    missing = client.post(f"/moderation/entities/{slug}/actions", data={"action": "merge"})
    assert missing.status_code == 422 and 'id="merge-reason-error"' in missing.text
    done = client.post(
        f"/moderation/entities/{slug}/actions",
        data={
            "action": "edit",
            "name": "Form Path Staffing Inc",
            "reason": "Full name",
            "kind": "employer",
            "website": "",
            "description": "",
            "aliases": "",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert (
        done.headers["location"] == "/moderation/entities/form-path-staffing-inc?done=edit_entity"
    )
    rejected = client.post(
        "/moderation/entities/form-path-staffing-inc/actions",
        data={"action": "reject", "reason": "Not real"},
        follow_redirects=False,
    )
    assert rejected.status_code == 303 and rejected.headers["location"] == "/moderation/queue"
    assert reader.get(f"/moderation/entities/{slug}", follow_redirects=False).status_code in (
        302,
        303,
        401,
    )
