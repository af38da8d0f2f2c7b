"""A bounded soak: mixed reads and writes for a fixed time, watching errors,
latency and the workers' memory.

What it does
------------
1. Seeds a database (``offramp seed``, 5,000 threads by default): a new SQLite
   file in a temporary directory, or the empty database ``--database-url`` names
   (SQLite or PostgreSQL).
2. Starts ``offramp serve --workers 2`` on it, in its own process group, on a
   free loopback port (``tests/judges/servers.py``); rate limits and
   proof-of-work are off where this version has them, since every request comes
   from one address.
3. Keeps 64 connections busy for 60 s, each sending its next request as soon as
   the previous answer is read (a closed loop, like wrk); they open one after
   another over the first second, as clients arrive. 90 % are reads — the
   home page, category pages, thread pages and the API's thread list — and 10 %
   writes through the JSON API — new threads, replies, and edits with the edit
   keys those returned.
4. Samples each worker's resident memory (VmRSS in ``/proc``) every second.

It reports, per kind of request, the count, errors and p50/p99 latency; the
throughput; and each worker's RSS growth over the second half of the run (from
the mean of the three samples at the midpoint to the mean of the last three, so
one noisy sample does not decide). It exits with status 1 when a target is
missed: any error (every answer that is not 2xx/3xx, and every failed
connection, counts), RSS growth of 10 % or more, or a worker that died.

Why asyncio + httpx rather than wrk: the writes need state (an edit needs the key
its post's creation returned) and the report needs latency per kind of request;
wrk's Lua scripts can do the first clumsily and cannot do the second. The price
is a slower load generator: it runs on the same machine, competes with the
server for CPU, and the share of CPU it used is reported so the figures can be
read with that in mind. Latency is measured from sending a request to reading
the whole answer; as in any closed loop, a slow answer delays the next request
rather than queueing it, so the tail is the tail under this load, not the tail
of an open stream of arrivals.

Usage::

    /tmp/v/bin/python bench/soak.py                       # 64 connections, 60 s
    /tmp/v/bin/python bench/soak.py --connections 16 --duration 15 --threads 500

Linux only (it reads /proc). Everything stays on 127.0.0.1. The machine's load
average before and after is reported: other work running meanwhile skews the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # for tests.judges.servers, shared with the judges

from tests.judges.servers import (  # noqa: E402
    Server,
    cpu_seconds,
    rss_bytes,
    running_server,
    server_environment,
    without_abuse_limits,
)

from offramp.config import Settings  # noqa: E402

READS = {"home": 20, "category": 25, "thread": 40, "api_threads": 15}  # relative weights
WRITES = {"new_thread": 30, "reply": 50, "edit": 20}
SMOOTHING_SAMPLES = 3  # RSS samples averaged at each end of the measured half
MAX_KEYS = 5_000  # edit keys kept for edits (the newest win)
REQUEST_TIMEOUT_S = 30.0
RAMP_S = 1.0  # connections open evenly spread over this first part of the run


@dataclass(frozen=True)
class Options:
    connections: int
    duration_s: float
    threads: int
    replies_per_thread: int
    workers: int
    write_share: float
    seed: int
    max_rss_growth: float
    settings: dict[str, str]  # extra server settings, e.g. {"page_cache_seconds": "0"}
    database_url: str | None  # None: a new SQLite database
    json_path: Path | None
    keep: bool


@dataclass
class Tally:
    """What one kind of request did."""

    requests: int = 0
    latencies_ms: list[float] = field(default_factory=list)  # of answered requests
    errors: Counter = field(default_factory=Counter)  # status code or exception name
    error_samples: list[str] = field(default_factory=list)


@dataclass
class Shared:
    """State the connections share: what they may read, and the keys they may edit with."""

    categories: list[str]
    thread_ids: list[str]
    keys: list[tuple[str, str]] = field(default_factory=list)  # (post id, edit key)
    tallies: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    completed_per_second: Counter = field(default_factory=Counter)


# -- the load -----------------------------------------------------------------------------


async def connection(
    number: int, url: str, shared: Shared, opts: Options, started: float, ends_at: float
) -> None:
    """One keep-alive connection sending requests back to back until the deadline.

    Connections open one after another over the first RAMP_S seconds, as clients
    arrive, rather than in one burst: the worker whose event loop wakes first
    accepts every connection waiting at that moment, so a burst can land on a
    single worker and leave the other idle for the whole run.
    """
    await asyncio.sleep(RAMP_S * number / opts.connections)
    rng = random.Random(f"{opts.seed}-{number}")
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(
        base_url=url, timeout=REQUEST_TIMEOUT_S, limits=limits, trust_env=False
    ) as http:
        while time.monotonic() < ends_at:
            kind, request = next_request(rng, shared, opts, http)
            tally = shared.tallies[kind]
            tally.requests += 1
            begun = time.perf_counter()
            try:
                response = await http.send(request)
            except httpx.HTTPError as exc:
                note_error(tally, type(exc).__name__, repr(exc))
                await asyncio.sleep(0.1)  # do not spin on a dead server
                continue
            tally.latencies_ms.append((time.perf_counter() - begun) * 1000)
            shared.completed_per_second[int(time.monotonic() - started)] += 1
            if response.status_code >= 400:
                note_error(tally, response.status_code, f"{request.url.path}: {response.text}")
            elif kind in ("new_thread", "reply"):
                remember_key(shared, kind, response.json())


def next_request(
    rng: random.Random, shared: Shared, opts: Options, http: httpx.AsyncClient
) -> tuple[str, httpx.Request]:
    if rng.random() >= opts.write_share:
        kind = rng.choices(list(READS), weights=list(READS.values()))[0]
        if kind == "home":
            return kind, http.build_request("GET", "/")
        if kind == "category":
            return kind, http.build_request("GET", f"/c/{rng.choice(shared.categories)}")
        if kind == "thread":
            return kind, http.build_request("GET", f"/threads/{rng.choice(shared.thread_ids)}")
        params = {"limit": 25}
        if rng.random() < 0.5:
            params["category"] = rng.choice(shared.categories)
        return kind, http.build_request("GET", "/api/v1/threads", params=params)

    kind = rng.choices(list(WRITES), weights=list(WRITES.values()))[0]
    if kind == "edit" and not shared.keys:
        kind = "reply"
    text = f"Soak text {rng.getrandbits(32):08x}: how the *second* interview went, in detail."
    if kind == "new_thread":
        body = {
            "title": f"Soak thread {rng.getrandbits(32):08x}",
            "category": rng.choice(shared.categories),
            "body": text,
        }
        return kind, http.build_request("POST", "/api/v1/threads", json=body)
    if kind == "reply":
        thread = rng.choice(shared.thread_ids)
        return kind, http.build_request(
            "POST", f"/api/v1/threads/{thread}/posts", json={"body": text}
        )
    post_id, key = rng.choice(shared.keys)
    return kind, http.build_request(
        "PATCH",
        f"/api/v1/posts/{post_id}",
        json={"body": "Edited. " + text},
        headers={"Authorization": f"Bearer {key}"},
    )


def remember_key(shared: Shared, kind: str, answer: dict) -> None:
    shared.keys.append((answer["post"]["id"], answer["edit_key"]))
    if kind == "new_thread":
        shared.thread_ids.append(answer["thread"]["id"])
    del shared.keys[:-MAX_KEYS]


def note_error(tally: Tally, what: object, detail: str) -> None:
    tally.errors[str(what)] += 1
    if len(tally.error_samples) < 5:
        tally.error_samples.append(detail[:300])


# -- memory --------------------------------------------------------------------------------


@dataclass
class MemoryWatch:
    pids: list[int]
    samples: list[tuple[float, dict[int, int]]] = field(default_factory=list)  # (t, pid -> RSS)
    vanished: set[int] = field(default_factory=set)

    async def run(self, started: float, ends_at: float, every_s: float = 1.0) -> None:
        while True:
            now = time.monotonic()
            sample = {}
            for pid in self.pids:
                rss = rss_bytes(pid)
                if rss is None:
                    self.vanished.add(pid)
                else:
                    sample[pid] = rss
            self.samples.append((now - started, sample))
            if now >= ends_at:
                return
            await asyncio.sleep(min(every_s, max(0.0, ends_at - now)))

    def growth_over_second_half(self, duration_s: float) -> dict[int, dict[str, float]]:
        """Per worker: RSS at the midpoint and at the end (each smoothed), and growth."""
        result = {}
        for pid in self.pids:
            series = [(t, sample[pid]) for t, sample in self.samples if pid in sample]
            second_half = [rss for t, rss in series if t >= duration_s / 2]
            if len(second_half) < 2 * SMOOTHING_SAMPLES:
                continue
            mid = statistics.fmean(second_half[:SMOOTHING_SAMPLES])
            end = statistics.fmean(second_half[-SMOOTHING_SAMPLES:])
            result[pid] = {
                "start_mib": series[0][1] / 2**20,
                "mid_mib": mid / 2**20,
                "end_mib": end / 2**20,
                "peak_mib": max(rss for _, rss in series) / 2**20,
                "growth": (end - mid) / mid,
            }
        return result


# -- one run -------------------------------------------------------------------------------


async def soak(server: Server, shared: Shared, opts: Options) -> dict:
    workers = server.worker_pids()
    watch = MemoryWatch(workers)
    cpu_before = {pid: cpu_seconds(pid) or 0.0 for pid in workers}
    own_cpu_before = time.process_time()
    started = time.monotonic()
    ends_at = started + opts.duration_s
    await asyncio.gather(
        watch.run(started, ends_at),
        *(
            connection(n, server.url, shared, opts, started, ends_at)
            for n in range(opts.connections)
        ),
    )
    elapsed = time.monotonic() - started
    worker_cpu = {pid: (cpu_seconds(pid) or 0.0) - cpu_before[pid] for pid in workers}
    return {
        "elapsed_s": elapsed,
        "memory": watch.growth_over_second_half(opts.duration_s),
        "rss_mib_timeline": [  # [seconds, [MiB of each worker, in pid order]]
            [round(t, 1), [round(sample.get(pid, 0) / 2**20, 1) for pid in workers]]
            for t, sample in watch.samples
        ],
        "workers_vanished": sorted(watch.vanished),
        # In CPUs (2.0 = two cores busy), all workers together and each one: a worker
        # that got few of the connections shows here.
        "worker_cpu_share": sum(worker_cpu.values()) / elapsed,
        "worker_cpu_share_each": [round(worker_cpu[pid] / elapsed, 2) for pid in workers],
        "generator_cpu_share": (time.process_time() - own_cpu_before) / elapsed,
    }


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def summarise(shared: Shared, run: dict, opts: Options) -> dict:
    kinds = {}
    for kind in [*READS, *WRITES]:
        tally = shared.tallies.get(kind, Tally())
        latencies = sorted(tally.latencies_ms)
        kinds[kind] = {
            "requests": tally.requests,
            "errors": sum(tally.errors.values()),
            "error_kinds": dict(tally.errors),
            "error_samples": tally.error_samples,
            "p50_ms": percentile(latencies, 0.50),
            "p99_ms": percentile(latencies, 0.99),
        }
    answered = sum(len(t.latencies_ms) for t in shared.tallies.values())
    half = int(opts.duration_s // 2)
    per_second = shared.completed_per_second
    first_half = sum(per_second[s] for s in range(half)) / max(1, half)
    second_half = sum(per_second[s] for s in range(half, 2 * half)) / max(1, half)
    reads = sorted(x for k in READS for x in shared.tallies.get(k, Tally()).latencies_ms)
    writes = sorted(x for k in WRITES for x in shared.tallies.get(k, Tally()).latencies_ms)
    growth = [m["growth"] for m in run["memory"].values()]
    errors = sum(k["errors"] for k in kinds.values())
    failures = []
    if errors:
        failures.append(f"{errors} errors (expected 0)")
    if run["workers_vanished"]:
        failures.append(f"workers died: {run['workers_vanished']}")
    if len(growth) < opts.workers:
        failures.append("RSS could not be measured for every worker")
    elif max(growth) >= opts.max_rss_growth:
        failures.append(
            f"worker RSS grew {max(growth):.1%} over the second half "
            f"(target < {opts.max_rss_growth:.0%})"
        )
    if not answered:
        failures.append("no request was answered")
    return {
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(opts).items()},
        "machine": machine(),
        "answered": answered,
        "errors": errors,
        "throughput_rps": answered / run["elapsed_s"],
        "throughput_rps_first_half": first_half,
        "throughput_rps_second_half": second_half,
        "reads": {"p50_ms": percentile(reads, 0.5), "p99_ms": percentile(reads, 0.99)},
        "writes": {"p50_ms": percentile(writes, 0.5), "p99_ms": percentile(writes, 0.99)},
        "kinds": kinds,
        "max_rss_growth": max(growth) if growth else None,
        **run,
        "failures": failures,
    }


def machine() -> dict:
    cpu, memory_kib = "unknown", 0
    with contextlib.suppress(OSError):
        models = [
            line for line in Path("/proc/cpuinfo").read_text().splitlines() if "model name" in line
        ]
        cpu = models[0].split(":", 1)[1].strip() if models else cpu
    with contextlib.suppress(OSError, ValueError, IndexError):
        memory_kib = int(Path("/proc/meminfo").read_text().split()[1])  # MemTotal
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_gib": round(memory_kib / 2**20, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def print_report(result: dict) -> None:
    opts = result["options"]
    print(
        f"\nsoak: {opts['connections']} connections, {result['elapsed_s']:.1f} s, "
        f"{opts['workers']} workers, {opts['threads']} seeded threads, "
        f"{opts['write_share']:.0%} writes"
    )
    print(f"{'kind':<12} {'requests':>9} {'errors':>7} {'p50 ms':>8} {'p99 ms':>8}")
    rows = [(kind, k["requests"], k["errors"], k) for kind, k in result["kinds"].items()]
    rows += [(group, "", "", result[group]) for group in ("reads", "writes")]
    for name, requests, errors, k in rows:
        print(f"{name:<12} {requests:>9} {errors:>7} {k['p50_ms']:>8.1f} {k['p99_ms']:>8.1f}")
    print(
        f"throughput: {result['throughput_rps']:.0f} req/s "
        f"(first half {result['throughput_rps_first_half']:.0f}, "
        f"second half {result['throughput_rps_second_half']:.0f}); errors: {result['errors']}"
    )
    for pid, m in result["memory"].items():
        print(
            f"worker {pid}: RSS {m['start_mib']:.0f} MiB at start, {m['mid_mib']:.0f} at the "
            f"midpoint, {m['end_mib']:.0f} at the end (peak {m['peak_mib']:.0f}): "
            f"{m['growth']:+.1%} over the second half"
        )
    print(
        f"CPU: workers {result['worker_cpu_share']:.2f} {result['worker_cpu_share_each']}, "
        "load generator "
        f"{result['generator_cpu_share']:.2f} (in CPUs, of {result['machine']['cpus']}); "
        f"load average before {result['load_average_before'][0]:.2f}, "
        f"after {result['load_average_after'][0]:.2f}"
    )
    for kind, k in result["kinds"].items():
        for sample in k["error_samples"]:
            print(f"  {kind} error: {sample}")
    print("FAILED: " + "; ".join(result["failures"]) if result["failures"] else "all targets met")


# -- setting up ----------------------------------------------------------------------------


def seed_database(settings: Settings, opts: Options) -> None:
    """Migrate and fill the database with ``offramp seed``."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "offramp",
            "seed",
            "--threads",
            str(opts.threads),
            "--replies-per-thread",
            str(opts.replies_per_thread),
            "--seed",
            str(opts.seed),
        ],
        env=server_environment(settings),
        check=True,
        stdout=subprocess.DEVNULL,
    )


def discover(url: str) -> Shared:
    """The category slugs and every thread's id, through the API (any database)."""
    with httpx.Client(base_url=url, trust_env=False, timeout=30) as http:
        slugs = [category["slug"] for category in http.get("/api/v1/categories").json()]
        thread_ids: list[str] = []
        params: dict[str, str | int] = {"limit": 100}
        while True:
            page = http.get("/api/v1/threads", params=params).raise_for_status().json()
            thread_ids += [thread["id"] for thread in page["threads"]]
            if not page["next"]:
                return Shared(categories=slugs, thread_ids=thread_ids)
            params["cursor"] = page["next"]


def run(opts: Options) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="offramp-soak-"))
    try:
        settings = without_abuse_limits(
            Settings(
                data_dir=workdir,
                database_url=opts.database_url or f"sqlite:///{workdir / 'soak.sqlite3'}",
                secret_key=secrets.token_urlsafe(48),
                **opts.settings,
            )
        )
        print(f"seeding {opts.threads} threads ({settings.resolved_database_url}) …", flush=True)
        seed_database(settings, opts)
        load_before = os.getloadavg()
        with running_server(
            settings, log_path=workdir / "server.log", workers=opts.workers, migrate=False
        ) as server:
            shared = discover(server.url)
            print(f"soaking {server.url} for {opts.duration_s:.0f} s …", flush=True)
            result = _event_loop_run(soak(server, shared, opts))
        # Other work on the machine skews every figure: say how busy it was.
        result["load_average_before"] = load_before
        result["load_average_after"] = os.getloadavg()
        return summarise(shared, result, opts)
    finally:
        if opts.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _event_loop_run(coroutine):
    """uvloop when it is installed (it is, with uvicorn's extras): a cheaper client."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument(
        "--database-url",
        help="an empty (or freshly migrated) database to seed and serve, SQLite or "
        "PostgreSQL; default: a new SQLite file in a temporary directory",
    )
    parser.add_argument("--threads", type=int, default=5000, help="threads to seed")
    parser.add_argument("--replies-per-thread", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--write-share", type=float, default=0.10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--max-rss-growth", type=float, default=0.10, help="target, as a fraction (0.10 = 10 %%)"
    )
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a server setting to change, e.g. page_cache_seconds=0 (repeatable)",
    )
    parser.add_argument("--json", type=Path, help="also write the results here as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the database and server log")
    args = parser.parse_args(argv)
    if args.duration < 4 * SMOOTHING_SAMPLES:
        parser.error(f"--duration must be at least {4 * SMOOTHING_SAMPLES} s")
    return Options(
        connections=args.connections,
        duration_s=args.duration,
        threads=args.threads,
        replies_per_thread=args.replies_per_thread,
        workers=args.workers,
        write_share=args.write_share,
        seed=args.seed,
        max_rss_growth=args.max_rss_growth,
        settings=dict(_name_value(text, parser) for text in args.setting),
        database_url=args.database_url,
        json_path=args.json,
        keep=args.keep,
    )


def _name_value(text: str, parser: argparse.ArgumentParser) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or name not in Settings.model_fields:
        parser.error(f"--setting {text!r}: expected NAME=VALUE with a name from offramp.config")
    return name, value


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    result = run(opts)
    print_report(result)
    if opts.json_path:
        opts.json_path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
