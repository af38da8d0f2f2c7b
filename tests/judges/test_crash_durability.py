"""Crash durability: a write the server acknowledged survives a crash, and a crash
never leaves a write half done.

Several clients write through the JSON API (new threads, replies, edits with the
edit key, some of which retitle a thread) against a real ``offramp serve``
subprocess on the test's fresh database (``--db sqlite`` or ``--db postgres``).
At moments drawn from a seeded RNG the server's whole process group is killed
with SIGKILL, then started again (alternately with 2 workers and 1) while the
clients carry on. After the last kill the database itself is read and judged.

What a client knows about each write decides what may be asserted about it:

* **acknowledged** — a 2xx answer arrived: the write must be there, whole.
* **rejected** — a 4xx answer arrived: the write must not be there.
* **unsent** — the connection was refused: the server never saw the request, so
  the write must not be there.
* **in doubt** — the connection broke after the request may have left (or a 5xx
  came back): either outcome is correct, but only as a whole write.

An edit's answer only says "your edit is committed", not that nobody else edits
after it. So an acknowledged edit must be one of the post's revisions, and it is
either the current text or superseded by a *later* revision that some other
applied (acknowledged or in-doubt) edit of the same post made. "Later" is checked
against real time: when edit A was acknowledged before edit B was sent, B's
revision number must be higher than A's. Replies get the same check on their
position (``seq``) in the thread.

Every body and title carries a unique token, so each row in the database can be
traced back to the one request that wrote it; anything untraceable is a phantom.
Killing the server process tests process crashes only: on SQLite the operating
system keeps what was written, whatever the ``synchronous`` level. What power loss
would need is discussed in docs/durability.md.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from offramp import db
from offramp.config import Settings
from offramp.forum.tables import Post, PostRevision, Thread

from .servers import Server, without_abuse_limits

# Override to reproduce a failing run; the seed is printed in every failure.
SEED = int(os.environ.get("OFFRAMP_JUDGE_SEED", "1357"))
KILLS = 10
CLIENTS = 8
LOAD_BEFORE_KILL_S = (0.4, 2.0)  # uniform: how long the clients write between kills
WORKERS_BY_ROUND = (2, 1)  # alternate: a multi-process and a single-process server
REQUEST_TIMEOUT_S = 20.0
RETRY_PAUSE_S = 0.05  # after a failed request, while the server restarts
CATEGORIES = ("employers", "interviews", "coaching", "getting-started", "off-topic")

TOKEN = re.compile(r"\bcd\d+n\d+\b")


@dataclass
class Write:
    """One write request and what its client learnt about it."""

    token: str
    kind: str  # "thread", "reply" or "edit"
    body: str
    title: str | None = None  # new threads, and edits that retitle the thread
    category: str | None = None  # new threads
    key: str | None = None  # edits: the post's edit key
    thread_id: str | None = None  # reply: its thread; thread: known once acknowledged
    post_id: str | None = None  # edit: its post; thread/reply: known once acknowledged
    sent_at: float = 0.0
    answered_at: float | None = None  # when the acknowledgement arrived
    outcome: str = "pending"  # acknowledged | rejected | unsent | in_doubt
    status: int | None = None
    error: str = ""


@dataclass
class Workload:
    """What the clients share: acknowledged threads and posts with their keys."""

    seed: int
    writes: list[Write] = field(default_factory=list)
    threads: list[str] = field(default_factory=list)
    keys: list[tuple[str, str, bool]] = field(default_factory=list)  # post, key, opens thread
    stop: asyncio.Event = field(default_factory=asyncio.Event)


async def test_acknowledged_writes_survive_sigkill(settings: Settings, tmp_path: Path):
    rng = random.Random(SEED)
    server = Server(
        settings=without_abuse_limits(settings),
        log_path=tmp_path / "server.log",
        workers=WORKERS_BY_ROUND[0],
        migrate=False,  # the fixture's database is migrated; restarts stay quick
    )
    work = Workload(seed=SEED)
    await asyncio.to_thread(server.start)
    clients: list[asyncio.Task] = []
    try:
        clients = [
            asyncio.create_task(run_client(number, server.url, work)) for number in range(CLIENTS)
        ]
        for round_number in range(KILLS):
            await asyncio.sleep(rng.uniform(*LOAD_BEFORE_KILL_S))
            await asyncio.to_thread(server.kill)
            if round_number + 1 < KILLS:
                server.workers = WORKERS_BY_ROUND[(round_number + 1) % len(WORKERS_BY_ROUND)]
                await asyncio.to_thread(server.start)
        work.stop.set()
        await asyncio.gather(*clients)
    finally:
        work.stop.set()
        for task in clients:
            task.cancel()
        await asyncio.to_thread(server.kill)

    rows = await read_database(settings)
    report = audit(work.writes, rows)
    outcomes = Counter(write.outcome for write in work.writes)
    summary = (
        f"seed {SEED}, {KILLS} kills, {len(work.writes)} writes: {dict(outcomes)}; "
        f"in doubt: {report.in_doubt_applied} applied, {report.in_doubt_absent} absent; "
        f"{rows.engine_notes}; server log {server.log_path}"
    )
    print(summary)
    assert not report.problems, (
        f"{len(report.problems)} durability problems ({summary}):\n"
        + "\n".join(report.problems[:30])
    )
    # A judge that saw no acknowledged write, or no crash in mid-request, judged nothing.
    assert outcomes["acknowledged"] >= 200, summary
    assert outcomes["in_doubt"] >= 1, f"no kill landed while a write was in flight: {summary}"
    unexpected = {w.status for w in work.writes if w.status is not None and w.status >= 300}
    assert not unexpected, f"the server refused valid writes with {unexpected}: {summary}"


# -- the clients ----------------------------------------------------------------------


async def run_client(number: int, base_url: str, work: Workload) -> None:
    """Write until told to stop, one request at a time on one connection."""
    rng = random.Random(f"{work.seed}-{number}")
    limits = httpx.Limits(max_connections=1)
    async with httpx.AsyncClient(
        base_url=base_url, timeout=REQUEST_TIMEOUT_S, limits=limits, trust_env=False
    ) as http:
        for sequence in range(1_000_000):
            if work.stop.is_set():
                return
            write = plan_write(rng, f"cd{number}n{sequence}", work)
            work.writes.append(write)
            await send(http, write, work)
            if write.outcome != "acknowledged":
                await asyncio.sleep(RETRY_PAUSE_S)


def plan_write(rng: random.Random, token: str, work: Workload) -> Write:
    """A new thread (25 %), a reply to a known thread (40 %) or an edit of a known
    post (35 %; a third of the edits of opening posts change the thread's title too).
    Bodies are plain prose: nothing the identifying-details check could flag."""
    choice = rng.random()
    if choice < 0.25 or not work.keys:
        return Write(
            token=token,
            kind="thread",
            title=f"Crash judge thread {token}",
            category=rng.choice(CATEGORIES),
            body=f"Opening post {token}. A *durable* write, or none at all.",
        )
    if choice < 0.65:
        return Write(
            token=token,
            kind="reply",
            thread_id=rng.choice(work.threads),
            body=f"Reply {token}: it either happened or it did not.",
        )
    post_id, key, opens_thread = rng.choice(work.keys)
    retitle = opens_thread and rng.random() < 1 / 3
    return Write(
        token=token,
        kind="edit",
        post_id=post_id,
        key=key,
        title=f"Retitled by edit {token}" if retitle else None,
        body=f"Edited text {token}, with its history kept.",
    )


async def send(http: httpx.AsyncClient, write: Write, work: Workload) -> None:
    if write.kind == "thread":
        request = http.build_request(
            "POST",
            "/api/v1/threads",
            json={"title": write.title, "category": write.category, "body": write.body},
        )
    elif write.kind == "reply":
        request = http.build_request(
            "POST", f"/api/v1/threads/{write.thread_id}/posts", json={"body": write.body}
        )
    else:
        payload = {"body": write.body} | ({"title": write.title} if write.title else {})
        request = http.build_request(
            "PATCH",
            f"/api/v1/posts/{write.post_id}",
            json=payload,
            headers={"Authorization": f"Bearer {write.key}"},
        )

    write.sent_at = time.monotonic()
    try:
        response = await http.send(request)
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        # No connection was made, so the request never reached the server.
        write.outcome, write.error = "unsent", repr(exc)
        return
    except httpx.TransportError as exc:
        # Sent, perhaps processed, but the answer was lost with the server.
        write.outcome, write.error = "in_doubt", repr(exc)
        return
    write.status = response.status_code
    if response.status_code >= 500:  # could come after the commit: outcome unknown
        write.outcome, write.error = "in_doubt", response.text[:200]
        return
    if response.status_code >= 300:
        write.outcome, write.error = "rejected", response.text[:200]
        return

    write.outcome, write.answered_at = "acknowledged", time.monotonic()
    answer = response.json()
    if write.kind == "thread":
        write.thread_id, write.post_id = answer["thread"]["id"], answer["post"]["id"]
        work.threads.append(write.thread_id)
        work.keys.append((write.post_id, answer["edit_key"], True))
    elif write.kind == "reply":
        write.post_id = answer["post"]["id"]
        work.keys.append((write.post_id, answer["edit_key"], False))


# -- reading the database -----------------------------------------------------------


@dataclass
class Rows:
    threads: dict[str, dict]
    posts: dict[str, dict]
    revisions: dict[str, list[dict]]  # post id -> its revisions, by number
    orphan_revisions: list[dict]
    engine_notes: str


async def read_database(settings: Settings) -> Rows:
    """Every thread, post and revision, read directly (no server involved)."""
    engine = db.bind(settings)
    await db.open_pool(engine, settings)
    try:
        threads = {row["id"]: row for row in await Thread.select()}
        posts = {row["id"]: row for row in await Post.select()}
        revisions: dict[str, list[dict]] = defaultdict(list)
        orphans = []
        for row in await PostRevision.select().order_by(PostRevision.number):
            if row["post"] in posts:
                revisions[row["post"]].append(row)
            else:
                orphans.append(row)
        if settings.is_sqlite:
            mode = (await Thread.raw("PRAGMA journal_mode"))[0]["journal_mode"]
            notes = f"SQLite journal_mode={mode}"
        else:
            shown = []
            for name in ("fsync", "synchronous_commit", "full_page_writes"):
                shown.append(f"{name}={(await Thread.raw(f'SHOW {name}'))[0][name]}")
            notes = "PostgreSQL " + ", ".join(shown)
    finally:
        await db.close_pool(engine)
    return Rows(threads, posts, revisions, orphans, notes)


# -- judging ----------------------------------------------------------------------------


@dataclass
class Audit:
    problems: list[str] = field(default_factory=list)
    in_doubt_applied: int = 0
    in_doubt_absent: int = 0


def audit(writes: list[Write], rows: Rows) -> Audit:
    result = Audit()
    check_structure(rows, result.problems)
    # Where each applied write landed: token -> (post id, seq or revision number).
    landed = trace_rows_to_writes({write.token: write for write in writes}, rows, result.problems)
    check_outcomes(writes, landed, rows, result)
    check_real_time_order(writes, landed, result.problems)
    return result


def check_structure(rows: Rows, problems: list[str]) -> None:
    """Nothing half-written, whoever wrote it."""
    posts_of: dict[str, list[dict]] = defaultdict(list)
    for post in rows.posts.values():
        if post["thread"] not in rows.threads:
            problems.append(f"post {post['id']} has no thread {post['thread']}")
        else:
            posts_of[post["thread"]].append(post)
    for revision in rows.orphan_revisions:
        problems.append(f"revision {revision['number']} of missing post {revision['post']}")

    for thread in rows.threads.values():
        posts = sorted(posts_of[thread["id"]], key=lambda post: post["seq"])
        seqs = [post["seq"] for post in posts]
        # Dense 1..post_count: the opening post exists, none is missing or doubled,
        # and post_count equals the number of posts.
        if seqs != list(range(1, thread["post_count"] + 1)):
            problems.append(
                f"thread {thread['id']}: post_count {thread['post_count']}, post seqs {seqs}"
            )
            continue
        opening = posts[0]
        if thread["op_ref"] != opening["author_ref"]:
            problems.append(f"thread {thread['id']}: op_ref is not its opening post's author")
        if "reply_count" in thread and thread["reply_count"] != len(posts) - 1:
            # (this workload publishes every post at once, so all replies count)
            problems.append(
                f"thread {thread['id']}: reply_count {thread['reply_count']}, "
                f"{len(posts) - 1} replies"
            )
        titled = [rev for rev in rows.revisions.get(opening["id"], []) if revision_title(rev)]
        if not titled or thread["title"] != titled[-1]["title"]:
            problems.append(
                f"thread {thread['id']}: title {thread['title']!r} is not the latest title "
                "in its opening post's revisions"
            )

    for post in rows.posts.values():
        revisions = rows.revisions.get(post["id"], [])
        numbers = [rev["number"] for rev in revisions]
        if numbers != list(range(1, post["revision_count"] + 1)):
            problems.append(
                f"post {post['id']}: revision_count {post['revision_count']}, revisions {numbers}"
            )
        elif post["body_md"] != revisions[-1]["body_md"]:
            problems.append(f"post {post['id']}: its text is not its latest revision")
        if post["status"] != "published" or not post["body_html"]:
            problems.append(f"post {post['id']}: status {post['status']}, rendered text missing")


def revision_title(revision: dict) -> str | None:
    # A revision without a title holds NULL (edits) or "" (replies: Piccolo's
    # default for the column); both mean "the title did not change".
    return revision["title"] or None


def trace_rows_to_writes(
    by_token: dict[str, Write], rows: Rows, problems: list[str]
) -> dict[str, tuple[str, int]]:
    """Match every post and revision to the request that wrote it."""
    landed: dict[str, tuple[str, int]] = {}
    for post in rows.posts.values():
        for revision in rows.revisions.get(post["id"], []):
            found = TOKEN.findall(revision["body_md"])
            write = by_token.get(found[0]) if len(found) == 1 else None
            where = f"post {post['id']} revision {revision['number']}"
            if write is None:
                problems.append(
                    f"{where}: written by no request (phantom): {revision['body_md']!r}"
                )
                continue
            if write.token in landed:
                problems.append(f"{where}: request {write.token} applied twice")
                continue
            if write.outcome not in ("acknowledged", "in_doubt"):
                problems.append(f"{where}: request {write.token} was {write.outcome}, yet applied")
            if revision["body_md"] != write.body or revision_title(revision) != write.title:
                problems.append(f"{where}: text or title differs from request {write.token}")
            if revision["number"] == 1:
                # A new thread's request learns its ids only from the acknowledgement.
                expected_kind = "thread" if post["seq"] == 1 else "reply"
                known_thread = write.thread_id in (None, post["thread"])
                if write.kind != expected_kind or not known_thread:
                    problems.append(f"{where}: request {write.token} ({write.kind}) landed here")
                if write.outcome == "acknowledged" and write.post_id != post["id"]:
                    problems.append(f"{where}: acknowledged as post {write.post_id}")
                landed[write.token] = (post["id"], post["seq"])
            else:
                if write.kind != "edit" or write.post_id != post["id"]:
                    problems.append(f"{where}: request {write.token} ({write.kind}) landed here")
                landed[write.token] = (post["id"], revision["number"])
    return landed


def check_outcomes(
    writes: list[Write], landed: dict[str, tuple[str, int]], rows: Rows, result: Audit
) -> None:
    for write in writes:
        if write.outcome == "acknowledged":
            if write.token not in landed:
                result.problems.append(
                    f"LOST: acknowledged {write.kind} {write.token} "
                    f"(post {write.post_id}, thread {write.thread_id}) is not in the database"
                )
        elif write.outcome == "in_doubt":
            if write.token in landed:
                result.in_doubt_applied += 1
            else:
                result.in_doubt_absent += 1


def check_real_time_order(
    writes: list[Write], landed: dict[str, tuple[str, int]], problems: list[str]
) -> None:
    """A write acknowledged before another was sent must come first: among replies
    to a thread by ``seq``, among edits of a post by revision number."""
    groups: dict[tuple[str, str | None], list[Write]] = defaultdict(list)
    for write in writes:
        if write.token in landed and write.kind in ("reply", "edit"):
            target = write.thread_id if write.kind == "reply" else write.post_id
            groups[(write.kind, target)].append(write)
    for (kind, target), group in groups.items():
        for earlier in group:
            if earlier.answered_at is None:
                continue
            for later in group:
                if later.sent_at > earlier.answered_at and (
                    landed[later.token][1] <= landed[earlier.token][1]
                ):
                    problems.append(
                        f"{kind}s of {target}: {later.token} was sent after {earlier.token} "
                        f"was acknowledged, yet comes before it"
                    )


# -- the judge judged ---------------------------------------------------------------------


def _example() -> tuple[list[Write], Rows]:
    """A consistent little history: a thread whose title was edited, and a reply
    edited twice, the second edit sent after the first was acknowledged."""
    acked = {"outcome": "acknowledged", "status": 200}
    writes = [
        Write(
            "cd0n0",
            "thread",
            "Opening cd0n0",
            "Title cd0n0",
            thread_id="t1",
            post_id="p1",
            sent_at=1,
            answered_at=2,
            **acked,
        ),
        Write(
            "cd0n1",
            "reply",
            "Reply cd0n1",
            thread_id="t1",
            post_id="p2",
            sent_at=3,
            answered_at=4,
            **acked,
        ),
        Write(
            "cd1n0",
            "edit",
            "Edit cd1n0",
            "Retitled cd1n0",
            post_id="p1",
            sent_at=5,
            answered_at=6,
            **acked,
        ),
        Write("cd1n1", "edit", "Edit cd1n1", post_id="p2", sent_at=7, answered_at=8, **acked),
        Write("cd1n2", "edit", "Edit cd1n2", post_id="p2", sent_at=9, answered_at=10, **acked),
    ]

    def post(post_id: str, seq: int, body: str, revisions: int) -> dict:
        return {
            "id": post_id,
            "thread": "t1",
            "seq": seq,
            "author_ref": post_id,
            "body_md": body,
            "body_html": f"<p>{body}</p>",
            "status": "published",
            "revision_count": revisions,
        }

    def revision(post_id: str, number: int, body: str, title: str | None = None) -> dict:
        return {"post": post_id, "number": number, "body_md": body, "title": title}

    rows = Rows(
        threads={"t1": {"id": "t1", "title": "Retitled cd1n0", "post_count": 2, "op_ref": "p1"}},
        posts={"p1": post("p1", 1, "Edit cd1n0", 2), "p2": post("p2", 2, "Edit cd1n2", 3)},
        revisions={
            "p1": [
                revision("p1", 1, "Opening cd0n0", "Title cd0n0"),
                revision("p1", 2, "Edit cd1n0", "Retitled cd1n0"),
            ],
            "p2": [
                revision("p2", 1, "Reply cd0n1", ""),
                revision("p2", 2, "Edit cd1n1"),
                revision("p2", 3, "Edit cd1n2"),
            ],
        },
        orphan_revisions=[],
        engine_notes="",
    )
    return writes, rows


def _lose_reply(writes: list[Write], rows: Rows) -> None:
    del rows.posts["p2"], rows.revisions["p2"]
    rows.threads["t1"]["post_count"] = 1


def _lose_last_edit(writes: list[Write], rows: Rows) -> None:
    rows.revisions["p2"].pop()
    rows.posts["p2"].update(revision_count=2, body_md="Edit cd1n1")


def _lose_opening_post(writes: list[Write], rows: Rows) -> None:
    del rows.posts["p1"], rows.revisions["p1"]


def _swap_edits(writes: list[Write], rows: Rows) -> None:
    first, second = rows.revisions["p2"][1:]
    first["body_md"], second["body_md"] = second["body_md"], first["body_md"]
    rows.posts["p2"]["body_md"] = second["body_md"]


def _add_phantom_edit(writes: list[Write], rows: Rows) -> None:
    rows.revisions["p2"].append({"post": "p2", "number": 4, "body_md": "cd9n9", "title": None})
    rows.posts["p2"].update(revision_count=4, body_md="cd9n9")


CORRUPTIONS = {
    "acknowledged reply lost": (_lose_reply, "LOST: acknowledged reply cd0n1"),
    "acknowledged edit lost": (_lose_last_edit, "LOST: acknowledged edit cd1n2"),
    "thread without opening post": (_lose_opening_post, "post_count 2, post seqs [2]"),
    "post_count off": (lambda w, r: r.threads["t1"].update(post_count=3), "post_count 3"),
    "post without thread": (
        lambda w, r: r.posts.update(p3={**r.posts["p2"], "id": "p3", "thread": "t9"}),
        "post p3 has no thread t9",
    ),
    "revision without post": (
        lambda w, r: r.orphan_revisions.append({"post": "p9", "number": 1}),
        "revision 1 of missing post p9",
    ),
    "revision gap": (lambda w, r: r.revisions["p2"].pop(1), "revisions [1, 3]"),
    "text is not the latest revision": (
        lambda w, r: r.posts["p2"].update(body_md="Edit cd1n1"),
        "post p2: its text is not its latest revision",
    ),
    "title is not the latest": (
        lambda w, r: r.threads["t1"].update(title="Title cd0n0"),
        "is not the latest title",
    ),
    "edits applied out of order": (_swap_edits, "cd1n2 was sent after cd1n1 was acknowledged"),
    "refused write applied": (
        lambda w, r: setattr(w[3], "outcome", "rejected"),
        "request cd1n1 was rejected, yet applied",
    ),
    "phantom edit": (_add_phantom_edit, "written by no request (phantom)"),
}


def test_audit_passes_a_consistent_history():
    writes, rows = _example()
    writes.append(Write("cd1n3", "edit", "Edit cd1n3", post_id="p2", outcome="in_doubt"))
    report = audit(writes, rows)
    assert report.problems == []
    assert (report.in_doubt_applied, report.in_doubt_absent) == (0, 1)


@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_audit_reports_each_kind_of_damage(corruption: str):
    damage, expected = CORRUPTIONS[corruption]
    writes, rows = _example()
    damage(writes, rows)
    problems = audit(writes, rows).problems
    assert any(expected in problem for problem in problems), problems
