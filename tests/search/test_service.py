"""The search service on the real engine (FTS5 or PostgreSQL): ranking, filters, the
index following every change in the forum, and safe passages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from offramp.db import write_transaction
from offramp.errors import Invalid
from offramp.forum import schemas
from offramp.forum.seed import ensure_entities, seed_forum
from offramp.forum.service import Author, Publishing
from offramp.forum.tables import Post, Thread
from offramp.ids import this_hour
from offramp.moderation.schemas import PostActionCreate, TakedownCreate
from offramp.moderation.service import Actor, Moderation
from offramp.search.query import QuerySyntaxError
from offramp.search.schemas import SearchRequest
from offramp.search.service import SearchIndex
from offramp.search.tables import SearchDocument

from ..forum.factories import make_reply, make_thread
from .conftest import Indexed

FILLER = " ".join(["The recruiter call went fine and the hours were discussed at length."] * 6)
EMAIL = "Write to me at jane.doe@example.com about the quokka."


async def test_a_title_match_ranks_above_a_passing_mention(indexed: Indexed):
    mention = await make_thread(
        indexed.forum, title="Long notes from my search", body=f"{FILLER} Also Northbridge."
    )
    titled = await make_thread(
        indexed.forum, title="Northbridge utilization review interview", body="Four rounds."
    )
    assert await indexed.post_ids("northbridge") == [titled.post.id, mention.post.id]
    newest = await indexed.post_ids("northbridge", sort="newest")
    assert set(newest) == {titled.post.id, mention.post.id}


async def test_words_phrases_exclusions_and_alternatives(indexed: Indexed):
    one = await make_thread(indexed.forum, body="The refund was refused after the final call.")
    two = await make_thread(indexed.forum, body="A chargeback worked where the refund failed.")
    three = await make_thread(indexed.forum, body="No refund, no chargeback: a lawyer's letter.")
    post = {one.post.id: 1, two.post.id: 2, three.post.id: 3}

    async def found(q: str) -> set[int]:
        return {post[i] for i in await indexed.post_ids(q) if i in post}

    assert await found("refund") == {1, 2, 3}
    assert await found("refunds") == {1, 2, 3}  # stemming, on both engines
    assert await found("refund chargeback") == {2, 3}
    assert await found('"refund was refused"') == {1}
    assert await found('"refused was refund"') == set()
    assert await found("refund -chargeback") == {1}
    assert await found('refund -"final call"') == {2, 3}
    assert await found("lawyer OR refused") == {1, 3}
    assert await found("lawyer OR refused chargeback") == {3}
    assert await found("RÉFUND") == {1, 2, 3}  # case and accents


async def test_filters_by_category_entity_and_month(indexed: Indexed):
    await ensure_entities()
    employer = await make_thread(
        indexed.forum,
        category="employers",
        entity="Northbridge UR",
        body="Panel interview, then an offer.",
    )
    coaching = await make_thread(
        indexed.forum, category="coaching", body="The coach promised an offer."
    )
    assert set(await indexed.post_ids("offer")) == {employer.post.id, coaching.post.id}
    assert await indexed.post_ids("offer", category="coaching") == [coaching.post.id]
    assert await indexed.post_ids("offer", entity="northbridge-utilization-review") == [
        employer.post.id
    ]
    assert await indexed.post_ids("offer", entity="NBUR") == [employer.post.id]  # an alias
    this_month = this_hour().strftime("%Y-%m")
    assert len(await indexed.post_ids("offer", month_from=this_month, month_to=this_month)) == 2
    assert await indexed.post_ids("offer", month_to="2021-01") == []

    with pytest.raises(Invalid, match="no category"):
        await indexed.find("offer", category="nope")
    with pytest.raises(Invalid, match="Did you mean 'Northbridge Utilization Review'"):
        await indexed.find("offer", entity="Northbrid")
    with pytest.raises(Invalid, match="YYYY-MM"):
        await indexed.find("offer", month_from="2025-13")
    for impossible in ("0000-01", "9999-12", "2025-1", "２０２５-01"):
        with pytest.raises(Invalid, match="YYYY-MM"):
            await indexed.find("offer", month_from=impossible, month_to=impossible)
    with pytest.raises(Invalid, match="comes after"):
        await indexed.find("offer", month_from="2025-06", month_to="2025-05")
    with pytest.raises(Invalid):
        await indexed.find("offer", category="a\x00b")


async def test_month_ranges_on_seeded_data(indexed: Indexed):
    await seed_forum(40, 2, seed=3)
    assert await indexed.index.reindex() == await Post.count().where(Post.status == "published")
    everything = await indexed.find("thanks OR coaching OR interview", per_page=50)
    assert everything.total > 10
    month = everything.results[len(everything.results) // 2].day.strftime("%Y-%m")
    within = await indexed.find(
        "thanks OR coaching OR interview", month_from=month, month_to=month, per_page=50
    )
    assert within.total >= 1
    assert all(result.day.strftime("%Y-%m") == month for result in within.results)
    newest = await indexed.find("thanks OR coaching OR interview", sort="newest", per_page=50)
    days = [result.day for result in newest.results]
    assert days == sorted(days, reverse=True)


async def test_only_published_posts_of_published_threads_are_findable(indexed: Indexed):
    forum = indexed.forum
    thread = await make_thread(forum, body="Opening words about the wombat.")
    visible = await make_reply(forum, thread.thread.id, body="A visible wombat reply.")
    held = await forum.create_reply(
        thread.thread.id,
        schemas.ReplyCreate(body=f"Wombat and {EMAIL}"),
        publishing=Publishing(confirmed_findings=True),
    )
    scheduled = await forum.create_reply(
        thread.thread.id,
        schemas.ReplyCreate(body="A delayed wombat with a platypus."),
        publishing=Publishing(delay=True),
    )
    deleted = await make_reply(forum, thread.thread.id, body="A wombat and a numbat.")
    await forum.delete_post(deleted.post.id, Author(key=deleted.edit_key))
    withdrawn = await forum.create_reply(
        thread.thread.id,
        schemas.ReplyCreate(body="Withdrawn wombat with an echidna."),
        publishing=Publishing(delay=True),
    )
    await forum.delete_post(withdrawn.post.id, Author(key=withdrawn.edit_key))
    assert held.post.status == "held" and scheduled.post.status == "scheduled"

    assert set(await indexed.post_ids("wombat")) == {thread.post.id, visible.post.id}
    for hidden_word in ("quokka", "platypus", "numbat", "echidna"):
        assert await indexed.post_ids(hidden_word) == [], hidden_word
    passages = " ".join(r.passage_html for r in (await indexed.find("wombat")).results)
    assert "quokka" not in passages and "platypus" not in passages

    await forum.publish_due(this_hour() + timedelta(hours=25))
    assert await indexed.post_ids("platypus") == [scheduled.post.id]


async def test_a_thread_sent_back_to_review_takes_its_replies_along(indexed: Indexed):
    forum = indexed.forum
    thread = await make_thread(forum, body="About the axolotl.")
    reply = await make_reply(forum, thread.thread.id, body="An axolotl reply.")
    await forum.edit_post(
        thread.post.id,
        Author(key=thread.edit_key),
        schemas.PostUpdate(body=f"Axolotl. {EMAIL}", confirm_identifying_details=True),
    )
    assert await indexed.post_ids("axolotl") == []
    # A moderator approving the opening post brings the thread back, replies included.
    async with write_transaction():
        await Post.update({Post.status: "published"}).where(Post.id == thread.post.id)
        await Thread.update({Thread.status: "published"}).where(Thread.id == thread.thread.id)
        await forum.changed(thread.thread.id, thread.post.id)
    assert set(await indexed.post_ids("axolotl")) == {thread.post.id, reply.post.id}


async def test_a_post_hidden_by_a_moderator_leaves_the_index(indexed: Indexed):
    thread = await make_thread(indexed.forum, body="Nothing special here.")
    reply = await make_reply(indexed.forum, thread.thread.id, body="A defamatory capybara.")
    async with write_transaction():  # what any moderation action does: change, then tell
        await Post.update({Post.status: "hidden"}).where(Post.id == reply.post.id)
        await indexed.forum.changed(thread.thread.id, reply.post.id)
    assert await indexed.post_ids("capybara") == []


async def test_edits_replace_the_indexed_text_and_title(indexed: Indexed):
    forum = indexed.forum
    thread = await make_thread(forum, title="About Harborview Comms", body="Named the manager.")
    await forum.edit_post(
        thread.post.id,
        Author(key=thread.edit_key),
        schemas.PostUpdate(body="Removed the detail.", title="About a writing agency"),
    )
    for old in ("manager", "Harborview"):
        assert await indexed.post_ids(old) == [], old
    assert await indexed.post_ids("agency detail") == [thread.post.id]
    result = (await indexed.find("agency")).results[0]
    assert result.thread_title == "About a writing agency"
    assert [piece.text for piece in result.title if piece.match] == ["agency"]


async def test_passages_are_escaped_and_marked_by_us_only(indexed: Indexed):
    hostile = (
        'Before <script>alert("zebra")</script> and "><img src=x onerror=alert(1)> zebra '
        "then \ue000fake\ue001 markers around zebra."
    )
    thread = await make_thread(
        indexed.forum, title='<b onmouseover="x">Zebra</b> title', body=hostile
    )
    result = (await indexed.find("zebra")).results[0]
    assert result.post_id == thread.post.id
    tags = re.findall(r"</?([a-zA-Z]+)", result.passage_html)
    assert tags and set(tags) == {"mark"}, result.passage_html
    assert "<script" not in result.passage_html and "<img" not in result.passage_html
    assert "\ue000" not in result.passage_html and "\ue001" not in result.passage_html
    assert [piece.text.lower() for piece in result.passage if piece.match] == ["zebra"] * len(
        [piece for piece in result.passage if piece.match]
    )
    title_matches = [piece.text for piece in result.title if piece.match]
    assert title_matches == ["Zebra"]


async def test_ranking_is_bounded_to_the_newest_matches(indexed: Indexed):
    for number in range(8):
        await make_thread(indexed.forum, body=f"Gecko report number {number}.")
    bounded = SearchIndex(candidates=5)
    results = await bounded.search(SearchRequest(q="gecko", per_page=2))
    assert (results.total, results.capped, results.pages) == (5, True, 3)
    last = await bounded.search(SearchRequest(q="gecko", per_page=2, page=3))
    assert len(last.results) == 1
    with pytest.raises(Invalid, match="page"):
        await bounded.search(SearchRequest(q="gecko", per_page=2, page=4))
    full = await indexed.find("gecko")
    assert (full.total, full.capped, full.pages) == (8, False, 1)


async def test_reindex_rebuilds_exactly_what_the_listener_keeps(indexed: Indexed):
    forum = indexed.forum
    thread = await make_thread(forum, body="The first post.")
    await make_reply(forum, thread.thread.id, body="A reply.")
    gone = await make_reply(forum, thread.thread.id, body="Soon deleted.")
    await forum.delete_post(gone.post.id, Author(key=gone.edit_key))
    columns = (
        SearchDocument.id,
        SearchDocument.post,
        SearchDocument.title,
        SearchDocument.body,
        SearchDocument.category,
        SearchDocument.entity,
    )
    kept = await SearchDocument.select(*columns).order_by(SearchDocument.id)
    await SearchDocument.delete(force=True)
    await make_thread(forum, body="Unrelated.")  # a document the rebuild must keep
    stray = await SearchDocument.select(*columns)
    assert await indexed.index.reindex() == 3
    rebuilt = await SearchDocument.select(*columns).order_by(SearchDocument.id)
    assert sorted(kept + stray, key=lambda row: row["id"]) == rebuilt
    assert await indexed.post_ids("reply") != []


async def test_postgres_says_when_only_common_words_were_given(indexed: Indexed, backend):
    await make_thread(indexed.forum, body="The of and.")
    if backend.name == "postgres":
        with pytest.raises(QuerySyntaxError, match="very common words"):
            await indexed.find("the of")
    else:
        assert len(await indexed.post_ids("the of")) == 1


async def test_entity_suggestions_by_prefix_ignore_case_and_accents(indexed: Indexed):
    await ensure_entities()
    names = [entity.name for entity in await indexed.index.suggest_entities("PIVOT")]
    assert names == ["Physician Pivot Accelerator"]  # a word inside the name
    assert [e.name for e in await indexed.index.suggest_entities("médaff")] == [
        "MedAffairs Bootcamp"
    ]
    assert [e.name for e in await indexed.index.suggest_entities("nbu")] == [
        "Northbridge Utilization Review"
    ]
    assert await indexed.index.suggest_entities("%") == []
    assert await indexed.index.suggest_entities("_") == []
    assert await indexed.index.suggest_entities("\x00") == []


async def test_moderation_hides_restores_and_redacts_in_the_index(indexed: Indexed):
    """With the real moderation service: what a moderator hides or redacts cannot be
    found a moment later, and a restored post can be again."""
    moderation = Moderation(indexed.forum)
    actor = Actor(moderator_id="moderator01", role="moderator")
    thread = await make_thread(indexed.forum, body="An opening post about tapirs.")
    reply = await make_reply(indexed.forum, thread.thread.id, body="The manager Okapi Smith.")

    def act(name: str, **extra) -> PostActionCreate:
        return PostActionCreate(action=name, reason="Names a person.", **extra)

    await moderation.act_on_post(actor, reply.post.id, act("hide"))
    assert await indexed.post_ids("okapi") == []
    await moderation.act_on_post(actor, reply.post.id, act("restore"))
    assert await indexed.post_ids("okapi") == [reply.post.id]
    await moderation.act_on_post(actor, reply.post.id, act("redact", revision=1))
    assert await indexed.post_ids("okapi") == []  # the redacted revision's words are gone

    claim = "The post says our refund policy is a lie; it is not."
    await moderation.request_takedown(
        thread.post.id, TakedownCreate(organisation="Tapir Co", claim=claim)
    )
    assert await indexed.post_ids("tapirs") == []  # under review: not public

