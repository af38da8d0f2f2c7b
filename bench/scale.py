"""The scale test (issue 8): from nothing, a fresh PostgreSQL database on the running
server, its streaming replica, a Redis of its own, N ``offramp serve`` instances on
loopback ports and the shipped nginx configuration in front; mixed traffic through
nginx for a while, with one instance SIGKILLed and later restarted; then the checks.

    python bench/scale.py                       # 60 s, 64 connections, 3 instances
    python bench/scale.py --instances 1 --no-kill
    python bench/scale.py --seconds 12 --connections 16 --kill-at 4 --restart-at 8

Checks (exit status 1 if any fails): every acknowledged write is readable at the end
(threads, replies, survey updates, and edits whose last attempt was acknowledged); no
GET answered 5xx or failed to connect; no thread without its first post (nothing
half-written); a reply posted on one instance shows on the thread page every other
instance had cached within 1 s; one client sending reports to every instance (and
through nginx), before the kill and after the restart, gets exactly its limit
accepted, then 429; a persona logged in on one instance is known to all, the
restarted one included, and logging out on one ends it on all; the statistics
rebuild that every instance finds due a minute after it starts ran exactly once; and
no client canary (the address sent as X-Forwarded-For, the user agent) in any log or
any Redis key or value. Prints one JSON object with the figures.
Needs ``OFFRAMP_TEST_POSTGRES_URL`` (an admin URL of the PostgreSQL server), nginx,
redis-server and replication allowed from 127.0.0.1 (see ``.ci/run``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.judges.servers import (  # noqa: E402
    Server,
    free_port,
    server_environment,
    without_abuse_limits,
)
from tests.ops.nginx import NGINX_DIR, Ports, build_tree, running_nginx  # noqa: E402
from tests.ops.replica import streaming_replica  # noqa: E402

from offramp.config import Settings  # noqa: E402

CANARY_ADDRESS = "203.0.113.99"
CANARY_AGENT = "ScaleCanary/1.0 (offramp-scale-canary)"
CATEGORIES = ["coaching", "employers", "interviews"]
# Rate limits are on, per client address. The main load is one address (nginx's view
# of this process, 127.0.0.1), so its actions get limits it never reaches; reports,
# which only the rate-limit client sends, keep a tight one: 12 a day, halved to 6 for
# a client without proof-of-work (``offramp.anonymity.ratelimit.limit_for``).
RATE_LIMITS = ",".join(
    [f"{action}=1000000/86400" for action in
     ("thread", "reply", "edit_key", "survey", "persona_create", "persona_login")]
    + ["report=12/86400"]
)  # fmt: skip
REPORT_LIMIT = 6
LIMITED_ADDRESS = "127.0.0.2"  # the rate-limit client's own loopback address
FIRST_REBUILD_CHECK_S = 60  # app.py: each instance first looks a minute after it starts
MONTH = time.strftime("%Y-%m", time.gmtime(time.time() - 62 * 86400))


def upstream(ports: list[int]) -> str:
    lines = "".join(f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;\n" for port in ports)
    shipped = (NGINX_DIR / "upstream-vm.conf").read_text()
    head, _, rest = shipped.partition("upstream offramp_app {\n")
    return head + "upstream offramp_app {\n" + lines + rest[rest.index("    keepalive") :]


@contextlib.contextmanager
def fresh_database(admin_url: str):
    name = f"offramp_scale_{secrets.token_hex(4)}"
    asyncio.run(_execute(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        yield urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    finally:
        asyncio.run(_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _execute(url: str, statement: str):
    connection = await asyncpg.connect(url)
    try:
        return await connection.fetch(statement)
    finally:
        await connection.close()


@contextlib.contextmanager
def own_redis(directory: Path):
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(directory)],
        stdout=(directory / "redis.log").open("wb"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(50):
        with contextlib.suppress(redis.ConnectionError):
            if redis.Redis.from_url(url).ping():
                break
        time.sleep(0.1)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(10)


class Traffic:
    """What the clients did, and what the server acknowledged."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.statuses: dict[str, int] = {}
        self.get_failures: list[str] = []
        self.write_failures = 0
        self.threads: dict[str, str] = {}  # acknowledged: thread id -> title
        self.replies: list[str] = []
        self.keys: dict[str, str] = {}  # post id -> edit key
        self.edits: dict[str, tuple[str, bool]] = {}  # post id -> (last body, acknowledged)
        self.surveys: dict[str, str] = {}  # survey id -> edit key
        self.survey_updates: dict[str, tuple[int, bool]] = {}  # -> (applications, acknowledged)
        self.limited: list[int | str] = []  # the rate-limit client's answers, in order
        self.sessions: list[str] = []  # what the session check found wrong
        self.restarted_at: float | None = None  # time.monotonic() of the victim's restart
        # Posts and surveys with an edit in flight: one edit at a time per item, so the
        # last acknowledged edit is the one that must be read at the end.
        self.busy: set[str] = set()

    def idle(self, items: dict[str, str], rng) -> tuple[str, str] | None:
        free = [item for item in items.items() if item[0] not in self.busy]
        return rng.choice(free) if free else None

    def count(self, method: str, status: int | str) -> None:
        key = f"{method} {status}"
        self.statuses[key] = self.statuses.get(key, 0) + 1


def survey(applications: int) -> dict:
    return {"status": "still_searching", "search_started": MONTH, "paid_any": False,
            "applications": applications}  # fmt: skip


READS_FROM = 0.29  # rolls below are writes (when there is something to write), above reads


async def client_loop(http: httpx.AsyncClient, traffic: Traffic, until: float, rng) -> None:
    while time.monotonic() < until:
        roll = rng.random()
        known = list(traffic.threads)
        started = time.perf_counter()
        method, path = "write", ""
        try:
            if roll < 0.10 or not known:
                title = f"Scale {secrets.token_hex(6)}"
                body = {"title": title, "category": rng.choice(CATEGORIES), "body": "Load."}
                response = await http.post("/api/v1/threads", json=body)
                if response.status_code == 201:
                    made = response.json()
                    traffic.threads[made["thread"]["id"]] = title
                    traffic.keys[made["post"]["id"]] = made["edit_key"]
            elif roll < 0.19:
                thread = rng.choice(known)
                response = await http.post(f"/api/v1/threads/{thread}/posts", json={"body": "Re."})
                if response.status_code == 201:
                    traffic.replies.append(response.json()["post"]["id"])
            elif roll < 0.23 and (chosen := traffic.idle(traffic.keys, rng)):
                post_id, key = chosen
                text = f"Edited {secrets.token_hex(4)}"
                traffic.edits[post_id] = (text, False)
                traffic.busy.add(post_id)
                try:
                    response = await http.patch(
                        f"/api/v1/posts/{post_id}",
                        json={"body": text},
                        headers={"Authorization": f"Bearer {key}"},
                    )
                finally:
                    traffic.busy.discard(post_id)
                if response.status_code == 200:
                    traffic.edits[post_id] = (text, True)
            elif roll < 0.25 or (roll < READS_FROM and not traffic.surveys):
                response = await http.post("/api/v1/surveys", json=survey(0))
                if response.status_code == 201:
                    made = response.json()
                    traffic.surveys[made["survey"]["id"]] = made["edit_key"]
            elif roll < READS_FROM and (chosen := traffic.idle(traffic.surveys, rng)):
                survey_id, key = chosen
                applications = rng.randint(1, 1000)
                traffic.survey_updates[survey_id] = (applications, False)
                traffic.busy.add(survey_id)
                try:
                    response = await http.put(
                        f"/api/v1/surveys/{survey_id}",
                        json=survey(applications),
                        headers={"Authorization": f"Bearer {key}"},
                    )
                finally:
                    traffic.busy.discard(survey_id)
                if response.status_code == 200:
                    traffic.survey_updates[survey_id] = (applications, True)
            else:
                method = "GET"
                path = rng.choice(
                    ["/", "/c/coaching", "/api/v1/threads"]
                    + ([f"/threads/{rng.choice(known)}"] if known else [])
                )
                response = await http.get(path)
                if response.status_code >= 500:
                    traffic.get_failures.append(f"{path} {response.status_code}")
            traffic.count(response.request.method, response.status_code)
            traffic.latencies.append(time.perf_counter() - started)
        except httpx.HTTPError as exc:
            traffic.count(method, type(exc).__name__)
            if method == "GET":
                traffic.get_failures.append(f"{path} {type(exc).__name__}: {exc}")
            else:
                traffic.write_failures += 1


class RateLimitClient:
    """One client with an address of its own (127.0.0.2), sending reports round the
    instances directly (X-Forwarded-For, believed from 127.0.0.1 as from nginx) and
    through nginx (which puts the connection's address, 127.0.0.2, in that header)."""

    def __init__(self, base: str, instances: list[Server], traffic: Traffic) -> None:
        self.traffic = traffic
        via_nginx = httpx.AsyncClient(
            base_url=base,
            headers={"Origin": base},
            transport=httpx.AsyncHTTPTransport(local_address=LIMITED_ADDRESS, verify=False),
            timeout=30,
        )
        direct = [
            httpx.AsyncClient(
                base_url=s.url,
                headers={"Origin": s.url, "X-Forwarded-For": LIMITED_ADDRESS},
                timeout=30,
            )
            for s in instances
        ]
        self.clients = [via_nginx, *direct]
        self.sent = 0
        self.post: str | None = None

    async def send(self, count: int) -> None:
        if self.post is None:  # a thread of its own: reports may put it under review
            body = {"title": "Reported", "category": "coaching", "body": "Report me."}
            made = await self.clients[1].post("/api/v1/threads", json=body)
            self.post = made.json()["post"]["id"]
        for _ in range(count):
            http = self.clients[self.sent % len(self.clients)]
            self.sent += 1
            try:
                response = await http.post(
                    f"/api/v1/posts/{self.post}/reports", json={"reason": "spam"}
                )
                self.traffic.limited.append(response.status_code)
            except httpx.HTTPError as exc:
                self.traffic.limited.append(type(exc).__name__)

    async def close(self) -> None:
        for http in self.clients:
            await http.aclose()


async def log_in_on_one(instances: list[Server]) -> str:
    """A persona made (and so logged in) on the last instance: its session token."""
    handle = f"scale_{secrets.token_hex(4)}"
    credentials = {"handle": handle, "passphrase": "correct horse battery staple"}
    url = instances[-1].url
    async with httpx.AsyncClient(base_url=url, headers={"Origin": url}, timeout=30) as http:
        made = await http.post("/api/v1/personas", json=credentials)
        assert made.status_code == 201, made.text
        return made.json()["session"]


async def check_sessions(instances: list[Server], session: str) -> list[str]:
    """Known on every instance (the restarted one too); logged out on the first,
    unknown on all."""
    problems = []

    async def me(server: Server) -> int:
        async with httpx.AsyncClient(timeout=30, headers={"X-Persona-Session": session}) as http:
            return (await http.get(f"{server.url}/api/v1/personas/me")).status_code

    for n, server in enumerate(instances, 1):
        if (status := await me(server)) != 200:
            problems.append(f"instance {n} did not know the persona logged in elsewhere: {status}")
    url = instances[0].url
    headers = {"X-Persona-Session": session, "Origin": url}
    async with httpx.AsyncClient(timeout=30, headers=headers) as http:
        if (await http.delete(f"{url}/api/v1/personas/session")).status_code != 200:
            problems.append("logging out failed")
    for n, server in enumerate(instances, 1):
        if (status := await me(server)) != 401:
            problems.append(f"instance {n} still knew the persona after logout: {status}")
    return problems


async def drive(base: str, args, instances: list[Server], victim: Server | None):
    """The load, with the victim killed and restarted, and beside it the rate-limit
    client and the persona: a first burst of reports and the login before the kill,
    the rest of the reports and the session check after the restart."""
    traffic = Traffic()
    headers = {"User-Agent": CANARY_AGENT, "X-Forwarded-For": CANARY_ADDRESS, "Origin": base}
    limits = httpx.Limits(
        max_connections=args.connections, max_keepalive_connections=args.connections
    )
    limited = RateLimitClient(base, instances, traffic)
    async with httpx.AsyncClient(
        base_url=base, headers=headers, verify=False, timeout=30, limits=limits
    ) as http:
        started = time.monotonic()
        until = started + args.seconds
        workers = [
            asyncio.create_task(client_loop(http, traffic, until, random.Random(n)))
            for n in range(args.connections)
        ]
        await asyncio.sleep(args.kill_at / 2)
        await limited.send(REPORT_LIMIT // 2)
        session = await log_in_on_one(instances)
        await asyncio.sleep(max(0.0, started + args.kill_at - time.monotonic()))
        if victim is not None:
            await asyncio.to_thread(victim.kill)
            await asyncio.sleep(max(0.0, started + args.restart_at - time.monotonic()))
            await asyncio.to_thread(victim.start)
            traffic.restarted_at = time.monotonic()
        await limited.send(2 * REPORT_LIMIT)  # on every instance, the restarted one too
        traffic.sessions = await check_sessions(instances, session)
        await asyncio.gather(*workers)
        await limited.close()
        return traffic, time.monotonic() - started


def check_acknowledged(base: str, traffic: Traffic) -> list[str]:
    problems = []
    with httpx.Client(base_url=base, verify=False, timeout=30) as http:
        for thread_id in traffic.threads:
            if http.get(f"/api/v1/threads/{thread_id}").status_code != 200:
                problems.append(f"acknowledged thread {thread_id} is missing")
        for post_id in traffic.replies:
            if http.get(f"/api/v1/posts/{post_id}").status_code != 200:
                problems.append(f"acknowledged reply {post_id} is missing")
        for post_id, (text, acknowledged) in traffic.edits.items():
            if acknowledged and text not in http.get(f"/api/v1/posts/{post_id}").text:
                problems.append(f"acknowledged edit of {post_id} is missing")
        for survey_id, (applications, acknowledged) in traffic.survey_updates.items():
            key = traffic.surveys[survey_id]
            read = http.get(
                f"/api/v1/surveys/{survey_id}", headers={"Authorization": f"Bearer {key}"}
            )
            if acknowledged and read.json()["data"].get("applications") != applications:
                problems.append(f"acknowledged update of survey {survey_id} is missing")
    return problems


def check_half_written(database_url: str) -> list[str]:
    rows = asyncio.run(
        _execute(
            database_url,
            "SELECT count(*) AS n FROM forum_thread t WHERE NOT EXISTS "
            "(SELECT 1 FROM forum_post p WHERE p.thread = t.id)",
        )
    )
    return [f"{rows[0]['n']} threads without their first post"] if rows[0]["n"] else []


def check_coherence(instances: list[Server]) -> list[str]:
    """A reply posted on one instance shows on the thread page every other instance
    has cached, within 1 s."""
    if len(instances) < 2:
        return []
    writer, readers = instances[0], instances[1:]
    headers = {"Origin": writer.url}
    body = {"title": "Coherence", "category": "coaching", "body": "x"}
    made = httpx.post(f"{writer.url}/api/v1/threads", json=body, headers=headers).json()
    page = made["thread"]["url"]
    for reader in readers:  # each caches the thread page as it is now
        while httpx.get(f"{reader.url}{page}").status_code != 200:
            time.sleep(0.05)
    text = f"Reply {secrets.token_hex(5)}"
    url = f"{writer.url}/api/v1/threads/{made['thread']['id']}/posts"
    assert httpx.post(url, json={"body": text}, headers=headers).status_code == 201
    deadline = time.monotonic() + 1.0
    waiting = set(range(len(readers)))
    while waiting and time.monotonic() < deadline:
        for n in list(waiting):
            if text in httpx.get(f"{readers[n].url}{page}").text:
                waiting.discard(n)
        time.sleep(0.02)
    return [f"instance {n + 2} still served the old thread page after 1 s" for n in waiting]


def check_rate_limit(traffic: Traffic) -> list[str]:
    """Exactly the limit got past the shared bucket (201, or 409 once the post is
    under review), everything after it 429: one bucket, not one per instance."""
    passed = [status for status in traffic.limited if status in (201, 409)]
    refused = [status for status in traffic.limited if status == 429]
    problems = []
    if len(passed) != REPORT_LIMIT or traffic.limited[: len(passed)] != passed:
        problems.append(f"rate limit: {len(passed)} of {REPORT_LIMIT} passed: {traffic.limited}")
    if len(passed) + len(refused) != len(traffic.limited):
        problems.append(f"rate limit: answers other than 201/409/429: {traffic.limited}")
    return problems


def check_run_once(database_url: str, last_start: float) -> list[str]:
    """Each instance finds the statistics rebuild due (none exists) a minute after it
    starts; once the last of them (the restarted victim) has looked, there must be
    exactly one rebuild."""
    time.sleep(max(0.0, last_start + FIRST_REBUILD_CHECK_S + 5 - time.monotonic()))
    rows = asyncio.run(_execute(database_url, "SELECT count(*) AS n FROM stats_rebuild"))
    n = rows[0]["n"]
    return [] if n == 1 else [f"the statistics rebuild ran {n} times, not once"]


def check_canaries(directory: Path, redis_url: str) -> list[str]:
    blobs = {path.name: path.read_bytes() for path in directory.rglob("*.log")}
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter())
    values = [client.dump(key) or b"" for key in keys]
    blobs["redis"] = b"\n".join(keys + values)
    return [
        f"{canary!r} found in {name}"
        for name, blob in blobs.items()
        for canary in (CANARY_ADDRESS, CANARY_AGENT, "offramp-scale-canary")
        if canary.encode() in blob
    ]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000, 1)


def run(args) -> dict:
    admin_url = os.environ.get("OFFRAMP_TEST_POSTGRES_URL")
    if not admin_url:
        sys.exit(
            "set OFFRAMP_TEST_POSTGRES_URL (e.g. postgresql://postgres@127.0.0.1:5432/postgres)"
        )
    directory = Path(tempfile.mkdtemp(prefix="offramp-scale-"))
    with (
        fresh_database(admin_url) as database_url,
        own_redis(directory) as redis_url,
        streaming_replica(admin_url, free_port()) as replica,
    ):
        settings = without_abuse_limits(
            Settings(
                database_url=database_url,
                data_dir=directory / "data",
                secret_key=secrets.token_urlsafe(48),
                redis_url=redis_url,
                trusted_proxies="127.0.0.1",
                read_replica_urls=replica.url_for(database_url),
            )
        ).model_copy(update={"rate_limits": RATE_LIMITS})
        subprocess.run(
            [sys.executable, "-m", "offramp", "migrate"],
            env=server_environment(settings),
            check=True,
            capture_output=True,
        )
        instances = [
            Server(settings, directory / f"app-{n}.log", migrate=False)
            for n in range(1, args.instances + 1)
        ]
        ports = Ports(http=free_port(), https=free_port(), onion=free_port())
        config = build_tree(
            directory / "nginx", upstream=upstream([s.port for s in instances]), ports=ports
        )
        try:
            for instance in instances:
                instance.start()
            last_start = time.monotonic()
            with running_nginx(config, directory / "nginx.log"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                base = f"https://127.0.0.1:{ports.https}"
                victim = instances[0] if args.kill and len(instances) > 1 else None
                traffic, elapsed = asyncio.run(drive(base, args, instances, victim))
                time.sleep(0.5)
                problems = check_acknowledged(base, traffic)
            problems += check_half_written(database_url)
            problems += check_coherence(instances)
            problems += check_rate_limit(traffic) + traffic.sessions
            if args.run_once:
                problems += check_run_once(database_url, traffic.restarted_at or last_start)
        finally:
            for instance in instances:
                instance.stop()
        problems += check_canaries(directory, redis_url)
    problems += [f"GET failed: {failure}" for failure in traffic.get_failures[:20]]
    done = len(traffic.latencies)
    return {
        "instances": args.instances,
        "connections": args.connections,
        "seconds": round(elapsed, 1),
        "killed_and_restarted": victim is not None,
        "run_once_checked": args.run_once,
        "requests": done,
        "requests_per_s": round(done / elapsed, 1),
        "p50_ms": percentile(traffic.latencies, 0.50) if done else None,
        "p99_ms": percentile(traffic.latencies, 0.99) if done else None,
        "acknowledged": {
            "threads": len(traffic.threads),
            "replies": len(traffic.replies),
            "edits": sum(1 for _, ok in traffic.edits.values() if ok),
            "surveys": len(traffic.surveys),
            "survey_updates": sum(1 for _, ok in traffic.survey_updates.values() if ok),
        },
        "rate_limited_client": traffic.limited,
        "statuses": dict(sorted(traffic.statuses.items())),
        "get_failures": len(traffic.get_failures),
        "write_failures_without_answer": traffic.write_failures,
        "problems": problems,
        "logs": str(directory),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--kill-at", type=float, default=20)
    parser.add_argument("--restart-at", type=float, default=40)
    parser.add_argument("--no-kill", dest="kill", action="store_false")
    parser.add_argument(
        "--no-run-once",
        dest="run_once",
        action="store_false",
        help="skip the run-once check (it waits until a minute after the last start)",
    )
    result = run(parser.parse_args())
    print(json.dumps(result, indent=2))
    sys.exit(1 if result["problems"] else 0)


if __name__ == "__main__":
    main()
