"""Synthetic forum data: realistic, clearly labelled, and fast to generate in bulk.

Every employer, program and post here is made up. ``offramp demo`` uses a
small amount of it; ``offramp seed`` makes as much as a benchmark needs.
Bodies are drawn from a fixed set rendered once, so seeding 100,000 threads
spends its time on inserts, not on Markdown.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from offramp.anonymity.editkeys import new_edit_key
from offramp.db import write_transaction
from offramp.forum.entities import alias_key
from offramp.forum.render import render_markdown
from offramp.forum.service import ROLE_TAGS
from offramp.forum.tables import Entity, EntityAlias, Post, PostRevision, Thread, ThreadRoleTag
from offramp.ids import new_id, this_hour

BATCH = 400

ENTITIES = [
    # kind, name, aliases, description
    (
        "employer",
        "Northbridge Utilization Review",
        ["Northbridge UR", "NBUR"],
        "A utilization-management company hiring physician reviewers and physician advisors.",
    ),
    (
        "employer",
        "Calder Health Plan",
        ["Calder"],
        "A regional payer with medical director roles.",
    ),
    (
        "employer",
        "Meridian Therapeutics",
        ["Meridian"],
        "A mid-size pharma company with medical affairs and MSL teams.",
    ),
    (
        "employer",
        "Lumen Clinical Research",
        ["Lumen CRO"],
        "A contract research organisation hiring for clinical development and drug safety.",
    ),
    (
        "employer",
        "Parallax Health",
        ["Parallax"],
        "A health-tech startup building clinical decision support.",
    ),
    (
        "employer",
        "Harborview Medical Communications",
        ["Harborview MedComms"],
        "A medical writing and communications agency.",
    ),
    (
        "program",
        "Physician Pivot Accelerator",
        ["PPA", "Pivot Accelerator"],
        "A paid group coaching program promising non-clinical placement.",
    ),
    (
        "program",
        "White Coat Exit Academy",
        ["WCEA"],
        "An online course with a private job board for members.",
    ),
    (
        "program",
        "Nonclinical Launchpad Mastermind",
        ["Launchpad Mastermind"],
        "A high-ticket mastermind with one-to-one coaching calls.",
    ),
    (
        "program",
        "MedAffairs Bootcamp",
        [],
        "A six-week course preparing physicians for medical affairs interviews.",
    ),
    (
        "certification",
        "Physician Advisor Certificate",
        ["PA certificate"],
        "A certificate course for utilization review and physician advisor work.",
    ),
    (
        "certification",
        "Clinical Informatics Fundamentals",
        ["CI Fundamentals"],
        "An introductory informatics certificate.",
    ),
]

TITLES = {
    "employers": [
        "What is it really like doing UM reviews at {entity}?",
        "{entity}: physician advisor role, 18 months in",
        "Medical director job at {entity}, pay and hours",
        "Left {entity} after a year, here is why",
        "Does {entity} hire physicians without industry experience?",
    ],
    "interviews": [
        "Interview at {entity}: four rounds, then silence",
        "Panel interview for an MSL role at {entity}",
        "Rejected by {entity} for 'lack of business experience'",
        "{entity} case interview, what they asked",
        "Offer from {entity} after a six-week process",
    ],
    "coaching": [
        "Paid for {entity}: honest review after one year",
        "Is {entity} worth the money?",
        "{entity} promised placement. Did anyone get placed?",
        "Asked {entity} for a refund, how it went",
        "{entity} vs doing it alone",
    ],
    "getting-started": [
        "How long did your search take?",
        "Contract clauses to check before resigning",
        "Keeping a few clinical shifts while searching?",
        "Non-compete and tail coverage questions",
        "What I wish I had known before starting the search",
    ],
    "off-topic": [
        "Books that helped during the transition",
        "How do you explain the move to family?",
        "Burnout recovery: what actually helped",
    ],
}

OPENERS = [
    "I have been meaning to write this up for a while, in case it helps someone.",
    "Long-time reader, first post. Details are vague on purpose.",
    "Posting this because I could not find any honest information before I started.",
    "Short version first, longer version below.",
]

MIDDLES = [
    "The recruiter was friendly, but the first screen was mostly about whether I could "
    "handle **production targets** (number of cases per day). Nobody asked about my "
    "specialty beyond one question.",
    "I spent about **$6,500** on coaching before applying anywhere. The calls were "
    "motivating, but the job leads were mostly postings I had already seen on public boards.",
    "The panel had three people: a current physician reviewer, a nurse manager and someone "
    "from HR. They asked:\n\n- why I was leaving clinical work\n- how I handle disagreement "
    "with a treating physician\n- a sample case to talk through",
    "It took **nine months** from my first application to an offer. Most of it was waiting: "
    "two companies never replied after the final round.",
    "The pay was lower than clinical work (roughly one band of $50k lower), but the hours "
    "are predictable and there is no call.",
    "What helped most was networking: a former colleague referred me, and that application "
    "moved faster than the other twenty put together.",
    "> We felt you lacked business experience.\n\nThat was the whole feedback, after four "
    "rounds. I asked for more detail and did not hear back.",
    "The course material itself was fine, about what you would find in a good book. The "
    "private job board had maybe five relevant postings a month.",
]

CLOSERS = [
    "Happy to answer questions here.",
    "If you are considering the same path, ask me anything in this thread.",
    "Would be glad to hear if others had a different experience.",
    "Hope this saves someone some time and money.",
]

REPLIES = [
    "Thanks for writing this up. My experience was very similar, especially the waiting.",
    "How many applications did you send before the first interview?",
    "Same here: the 'business experience' line seems to be a catch-all.",
    "Did they say anything about remote work? I keep getting mixed messages.",
    "I did the same program and would not pay for it again. The community part was the only "
    "useful bit.",
    "Counterpoint: the coaching helped me rewrite my CV, and that got me interviews. But "
    "the placement promise was not real.",
    "Useful, thank you. Saving this thread.",
    "Which role category was this, UM reviewer or physician advisor? The pay differs a lot.",
    "For what it is worth, I got an offer there after about four months, through a referral.",
]


@dataclass
class _Bodies:
    """A fixed set of post bodies, rendered once."""

    threads: list[tuple[str, str]]
    replies: list[tuple[str, str]]

    @classmethod
    def build(cls, rng: random.Random, count: int = 60) -> _Bodies:
        threads = []
        for _ in range(count):
            text = "\n\n".join([rng.choice(OPENERS), *rng.sample(MIDDLES, 2), rng.choice(CLOSERS)])
            threads.append((text, render_markdown(text)))
        replies = [(text, render_markdown(text)) for text in REPLIES]
        return cls(threads, replies)


async def ensure_entities() -> list[dict]:
    """Create the synthetic employers, programs and certifications once."""
    existing = await Entity.select(Entity.id, Entity.name, Entity.kind)
    if existing:
        return existing
    now = this_hour()
    async with write_transaction():
        for kind, name, aliases, description in ENTITIES:
            entity_id = new_id()
            slug = alias_key(name).replace(" ", "-")
            await Entity.insert(
                Entity(
                    id=entity_id,
                    kind=kind,
                    name=name,
                    slug=slug,
                    description=description,
                    aliases="\n".join(aliases),
                    created_at=now,
                )
            )
            keys = {alias_key(text) for text in [name, slug, *aliases]}
            await EntityAlias.insert(*[EntityAlias(entity=entity_id, key=key) for key in keys])
    return await Entity.select(Entity.id, Entity.name, Entity.kind)


async def seed_forum(
    threads: int,
    replies_per_thread: int,
    *,
    seed: int = 7,
    span_days: int = 540,
    now: datetime | None = None,
) -> dict[str, int]:
    """Insert ``threads`` threads with about ``replies_per_thread`` replies each.

    Returns what was created. Times fall in the last ``span_days`` days, to the hour.
    """
    rng = random.Random(seed)
    tag_rng = random.Random(seed + 1)  # its own stream: the rest stays as it was
    entities = await ensure_entities()
    by_kind = {
        "employers": [e for e in entities if e["kind"] == "employer"],
        "interviews": [e for e in entities if e["kind"] == "employer"],
        "coaching": [e for e in entities if e["kind"] != "employer"],
    }
    bodies = _Bodies.build(rng)
    end = this_hour(now)
    # One key hash for all seeded posts would violate uniqueness; hashing a fresh
    # key per post is cheap (SHA-256), so every seeded post gets its own.
    made = {"threads": 0, "posts": 0}
    thread_rows: list[Thread] = []
    post_rows: list[Post] = []
    revision_rows: list[PostRevision] = []
    tag_rows: list[ThreadRoleTag] = []
    entity_counts: dict[str, int] = {}

    for _ in range(threads):
        category = rng.choices(list(TITLES), weights=[30, 25, 30, 10, 5], k=1)[0]
        candidates = by_kind.get(category, [])
        entity = rng.choice(candidates) if candidates else None
        title = rng.choice(TITLES[category]).format(entity=entity["name"] if entity else "")
        if entity:
            entity_counts[entity["id"]] = entity_counts.get(entity["id"], 0) + 1
        started = end - timedelta(hours=rng.randrange(span_days * 24))
        thread_id, op_id = new_id(), new_id()
        count = max(0, int(rng.gauss(replies_per_thread, replies_per_thread / 2 + 0.5)))
        count = min(count, replies_per_thread * 3)
        moment = started
        authors = [op_id]
        for seq in range(1, count + 2):
            if seq == 1:
                post_id, author = op_id, op_id
                text, html = rng.choice(bodies.threads)
            else:
                moment = min(end, moment + timedelta(hours=rng.randrange(1, 72)))
                post_id = new_id()
                if rng.random() < 0.3:
                    author = rng.choice(authors)
                else:
                    author = post_id
                    authors.append(post_id)
                text, html = rng.choice(bodies.replies)
            post_rows.append(
                Post(
                    id=post_id,
                    thread=thread_id,
                    seq=seq,
                    author_ref=author,
                    body_md=text,
                    body_html=html,
                    key_hash=new_edit_key()[1],
                    created_at=moment,
                    updated_at=moment,
                )
            )
            revision_rows.append(
                PostRevision(
                    post=post_id,
                    number=1,
                    title=title if seq == 1 else None,
                    body_md=text,
                    created_at=moment,
                )
            )
        thread_rows.append(
            Thread(
                id=thread_id,
                title=title,
                category=category,
                entity=entity["id"] if entity else None,
                op_ref=op_id,
                post_count=count + 1,
                reply_count=count,
                created_at=started,
                last_activity=moment,
            )
        )
        if tag_rng.random() < 0.6:
            for tag in tag_rng.sample(ROLE_TAGS, tag_rng.choice((1, 1, 2))):
                tag_rows.append(ThreadRoleTag(thread=thread_id, tag=tag))
        if len(post_rows) >= BATCH:
            made["threads"] += len(thread_rows)
            made["posts"] += len(post_rows)
            await _flush(thread_rows, post_rows, revision_rows, tag_rows)
            thread_rows, post_rows, revision_rows, tag_rows = [], [], [], []
    made["threads"] += len(thread_rows)
    made["posts"] += len(post_rows)
    await _flush(thread_rows, post_rows, revision_rows, tag_rows)
    async with write_transaction():
        for entity_id, count in entity_counts.items():
            await Entity.update({Entity.thread_count: Entity.thread_count + count}).where(
                Entity.id == entity_id
            )
    return made


async def _flush(threads: list, posts: list, revisions: list, tags: list) -> None:
    if not threads:
        return
    async with write_transaction():
        await Thread.insert(*threads)
        if tags:
            await ThreadRoleTag.insert(*tags)
        for start in range(0, len(posts), BATCH):
            await Post.insert(*posts[start : start + BATCH])
            await PostRevision.insert(*revisions[start : start + BATCH])
