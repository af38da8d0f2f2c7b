"""Benchmark the outcome statistics at scale: seeding, the rebuild, pages, and writes.

What it measures (issue 4), on SQLite and on PostgreSQL
-------------------------------------------------------
1. **Seeding**: wall time of ``offramp seed --threads 10 --surveys N`` into a fresh
   database (a new SQLite data directory; a new PostgreSQL database made with
   ``createdb``). Claim: 1,000,000 surveys in a few minutes (judged as <= 5 min).
2. **Rebuild**: wall time and peak memory (max RSS of the ``offramp`` process, from
   ``os.wait4``) of ``offramp stats rebuild`` at N surveys, ``--rebuilds`` times; the
   worst run is judged. Targets: < 60 s and < 1 GiB. On PostgreSQL the database
   server's backends do the aggregation; their memory is not in this figure.
3. **Page cost flat in N**: a small (``--small``) and a large (``--surveys``)
   database are each served by ``offramp serve`` (one worker,
   ``OFFRAMP_PAGE_CACHE_SECONDS=0`` so every request renders,
   ``OFFRAMP_RATE_LIMITS=off``), side by side. For ``/stats``,
   ``/entities/physician-pivot-accelerator`` and ``GET /api/v1/stats``:

   * ``wrk --latency -t1 -c4 -d10s`` against each server in turn, after a 2 s warm-up.
     Targets: p50 < 20 ms, and the large p50 within 1.5x of the small one.
   * ``--sequential`` GETs one at a time on one keep-alive connection per server,
     alternating small and large request by request, so load from other processes
     falls on both alike: the cost of one request without the queueing that four
     connections add on a one-worker server. Same targets.

4. **Writes do not slow down as the table grows**: ``--writes`` sequential
   ``POST /api/v1/surveys`` (start tracking), then as many ``PUT
   /api/v1/surveys/<id>`` (an update naming a program, with the key the POST
   returned), alternating between the small and the large server. Target: the large
   p50 within 1.5x of the small one.

The machine is shared: before each wrk run the script waits (up to ``--quiet-wait``
seconds) for other processes to leave the CPUs alone, records the cores the server
(with the PostgreSQL backends connected to its database) and everything else used
during the run, and repeats a disturbed run (3 attempts, the least disturbed kept).

Everything runs on 127.0.0.1. Every server is started in its own process group and
that whole group is stopped afterwards (also on errors, Ctrl-C and SIGTERM); the
PostgreSQL databases and SQLite directories it makes are removed at the end
(``--keep`` keeps them, for EXPLAIN and profiling).

Usage::

    /tmp/v/bin/python bench/stats.py                               # 1,000,000 vs 10,000
    /tmp/v/bin/python bench/stats.py --surveys 50000 --small 5000  # a quick run
    /tmp/v/bin/python bench/stats.py --backends sqlite --json out.json

Prints a Markdown results table with pass/fail per target. Logs (commands, servers,
wrk) and a JSON summary go to ``bench/results/stats-<time>/``.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

OFFRAMP = [sys.executable, "-m", "offramp"]
PG_BASE = "postgresql://postgres@127.0.0.1:5432"
PG_ARGS = ["-h", "127.0.0.1", "-p", "5432", "-U", "postgres"]
ENTITY = "physician-pivot-accelerator"
PAGES = {
    "/stats": "/stats",
    "entity page": f"/entities/{ENTITY}",
    "GET /api/v1/stats": "/api/v1/stats",
}
NEW_SURVEY = {"status": "still_searching", "search_started": "2026-01", "paid_any": False}
UPDATED_SURVEY = {
    "status": "hired_nonclinical",
    "search_started": "2026-01",
    "outcome_month": "2026-10",
    "employment_type": "full_time",
    "role_category": "medical_affairs",
    "channel": "recruiter",
    "paid_any": True,
    "programs": [{"entity": ENTITY, "cost_usd": 3000}],
    "conflict_of_interest": "none",
}
SIZES = ("small", "large")

# Targets from the issue.
SEED_MAX_S = 300.0  # "a few minutes" for the large database
REBUILD_MAX_S = 60.0
REBUILD_MAX_RSS_MIB = 1024.0
PAGE_MAX_P50_MS = 20.0
FLAT_MAX_RATIO = 1.5  # large-database p50 / small-database p50

QUIET_CORES = 0.3  # other processes using less than this: the machine counts as quiet
DISTURBED_CORES = 0.3  # a wrk run is repeated when other processes used more than this
ATTEMPTS = 3


# -- results ------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One finished command."""

    wall_s: float
    max_rss_mib: float


@dataclass(frozen=True)
class Latency:
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # wrong status codes and socket errors
    requests_per_second: float | None = None
    server_cores: float | None = None  # CPU the server (and its PostgreSQL backends) used
    other_cores: float | None = None  # CPU everything else used: noise in the figures


@dataclass
class SizeResult:
    surveys: int
    seed: Run | None = None
    rebuilds: list[Run] = field(default_factory=list)
    pages_wrk: dict[str, Latency] = field(default_factory=dict)
    pages_sequential: dict[str, Latency] = field(default_factory=dict)
    page_bytes: dict[str, int] = field(default_factory=dict)
    writes: dict[str, Latency] = field(default_factory=dict)


@dataclass
class BackendResult:
    backend: str
    sizes: dict[str, SizeResult] = field(default_factory=dict)  # "small", "large"
    load_average: list[float] = field(default_factory=list)  # at start and end


# -- databases ----------------------------------------------------------------------


def clean_environment(**settings: str) -> dict[str, str]:
    """This process's environment without stray OFFRAMP_* settings, plus the given ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OFFRAMP_")}
    env.update({f"OFFRAMP_{name.upper()}": value for name, value in settings.items()})
    return env


@dataclass(frozen=True)
class Database:
    """A fresh database for one backend and size, and the settings that reach it."""

    backend: str  # "sqlite" or "postgres"
    data_dir: Path  # the SQLite file, the secret key, the logs
    pg_name: str | None = None

    @property
    def log(self) -> Path:
        return self.data_dir / "commands.log"

    def environment(self, **settings: str) -> dict[str, str]:
        if self.pg_name:
            settings["database_url"] = f"{PG_BASE}/{self.pg_name}"
        return clean_environment(data_dir=str(self.data_dir), **settings)

    def create(self) -> None:
        self.data_dir.mkdir(parents=True)
        if self.pg_name:
            self.drop_postgres()
            subprocess.run(["createdb", *PG_ARGS, self.pg_name], check=True)

    def drop_postgres(self) -> None:
        if self.pg_name:
            subprocess.run(
                ["dropdb", *PG_ARGS, "--if-exists", self.pg_name],
                check=True,
                stderr=subprocess.DEVNULL,
            )


@contextlib.contextmanager
def fresh_database(backend: str, label: str, scratch: Path, opts) -> Iterator[Database]:
    pg_name = f"offramp_bench_stats_{label}" if backend == "postgres" else None
    database = Database(backend, scratch / f"{backend}-{label}", pg_name)
    database.create()
    try:
        yield database
    finally:
        shutil.copytree(  # the logs, for the record
            database.data_dir,
            opts.results_dir / f"{backend}-{label}",
            ignore=shutil.ignore_patterns("*.sqlite3*", "secret_key"),
        )
        if not opts.keep:
            database.drop_postgres()
            shutil.rmtree(database.data_dir, ignore_errors=True)


# -- commands -----------------------------------------------------------------------


def run_measured(command: list[str], env: dict[str, str], log: Path) -> Run:
    """Run a command to completion; its wall time and its peak resident memory."""
    with log.open("a") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        started = time.monotonic()
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed; see {log}")
    return Run(wall_s=round(wall, 2), max_rss_mib=round(usage.ru_maxrss / 1024, 1))


def seed(database: Database, surveys: int, threads: int) -> Run:
    command = [*OFFRAMP, "seed", "--threads", str(threads), "--surveys", str(surveys)]
    return run_measured(command, database.environment(), database.log)


def rebuild(database: Database) -> Run:
    return run_measured([*OFFRAMP, "stats", "rebuild"], database.environment(), database.log)


# -- servers --------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    port: int
    group: int  # the server's process group
    pg_name: str | None = None  # its PostgreSQL database, if any

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def call(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    body: dict | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    """One request on a kept connection; (status, body)."""
    payload = json.dumps(body).encode() if body is not None else None
    sent = {"Content-Type": "application/json"} if payload is not None else {}
    connection.request(method, path, body=payload, headers={**sent, **(headers or {})})
    answer = connection.getresponse()
    return answer.status, answer.read()


def wait_until_ready(process: subprocess.Popen, server: Server, log: Path, timeout_s=120.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited early; see {log}:\n{log.read_text()[-2000:]}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            connection = server.connect()
            status, _ = call(connection, "GET", "/healthz")
            connection.close()
            if status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer within {timeout_s} s; see {log}")


def stop_process_group(process: subprocess.Popen, grace_s: float = 30) -> None:
    """SIGTERM the server's process group, then SIGKILL whatever is left."""
    group = process.pid  # the server leads its own session: its pid is the group id
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            break
        process.poll()  # reap the leader so the group can disappear
        time.sleep(0.1)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
    process.wait(timeout=10)


@contextlib.contextmanager
def running_server(database: Database) -> Iterator[Server]:
    """``offramp serve`` (one worker) on a free loopback port, rendering every page."""
    port = free_port()
    env = database.environment(page_cache_seconds="0", rate_limits="off", proof_of_work="false")
    log = database.data_dir / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [*OFFRAMP, "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            server = Server(port, process.pid, database.pg_name)
            wait_until_ready(process, server, log)
            yield server
        finally:
            stop_process_group(process)


# -- CPU accounting -------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds all processes have used since boot (idle and iowait left out)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(n) for n in Path("/proc/stat").read_text().split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / _TICK


def _cpu_ticks(stat: Path, group: int | None = None) -> int:
    """utime + stime of one process (0 if it is gone, or not in ``group``)."""
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = stat.read_text().rsplit(")", 1)[1].split()
        if group is None or int(fields[2]) == group:  # pgrp
            return int(fields[11]) + int(fields[12])
    return 0


def postgres_backends(database: str) -> list[int]:
    """Process ids of the PostgreSQL backends connected to ``database``."""
    done = subprocess.run(
        [
            "psql",
            *PG_ARGS,
            "-tAc",
            f"SELECT pid FROM pg_stat_activity WHERE datname = '{database}'",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return [int(pid) for pid in done.stdout.split()]


def server_cpu_seconds(server: Server, backends: list[int]) -> float:
    """CPU seconds used so far by the server's process group and by the PostgreSQL
    backends that serve it (which otherwise would count as other processes)."""
    ticks = sum(_cpu_ticks(stat, server.group) for stat in Path("/proc").glob("[0-9]*/stat"))
    ticks += sum(_cpu_ticks(Path(f"/proc/{pid}/stat")) for pid in backends)
    return ticks / _TICK


def own_cpu_seconds() -> float:
    """CPU seconds this script and its finished children (wrk) have used."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def wait_for_quiet_machine(limit_s: float, quiet_for_s: int = 3) -> None:
    """Wait until other processes have used under QUIET_CORES for ``quiet_for_s``
    seconds in a row, or ``limit_s`` seconds have passed."""
    deadline, quiet = time.monotonic() + limit_s, 0
    while quiet < quiet_for_s and time.monotonic() < deadline:
        before = machine_busy_seconds()
        time.sleep(1)
        quiet = quiet + 1 if machine_busy_seconds() - before < QUIET_CORES else 0


# -- load -----------------------------------------------------------------------------

_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _duration_ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNIT_MS[unit]


def parse_wrk(output: str) -> Latency:
    def find(pattern: str) -> re.Match | None:
        return re.search(pattern, output, re.MULTILINE)

    p50, p99 = find(r"^\s+50%\s+(\S+)"), find(r"^\s+99%\s+(\S+)")
    total, rps = find(r"^\s+(\d+) requests in "), find(r"^Requests/sec:\s+([\d.]+)")
    if not (p50 and p99 and total and rps):
        raise RuntimeError(f"could not read wrk's output:\n{output}")
    bad = find(r"Non-2xx or 3xx responses: (\d+)")
    sockets = find(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
    return Latency(
        p50_ms=round(_duration_ms(p50.group(1)), 2),
        p99_ms=round(_duration_ms(p99.group(1)), 2),
        requests=int(total.group(1)),
        errors=(int(bad.group(1)) if bad else 0)
        + (sum(int(n) for n in sockets.groups()) if sockets else 0),
        requests_per_second=float(rps.group(1)),
    )


def wrk(url: str, seconds: int, log: Path) -> Latency:
    command = ["wrk", "--latency", "-t1", "-c4", f"-d{seconds}s", url]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60)
    with log.open("a") as out:
        out.write(f"$ {' '.join(command)}\n{done.stdout}\n")
    return parse_wrk(done.stdout)


def measured_wrk(server: Server, path: str, opts, log: Path) -> Latency:
    """Wait for a quiet machine, warm up, measure. A run during which other processes
    used more than DISTURBED_CORES is repeated (ATTEMPTS in all); the least disturbed
    run is kept, with the cores the server and everything else used meanwhile."""
    attempts = []
    for _ in range(ATTEMPTS):
        wait_for_quiet_machine(opts.quiet_wait)
        wrk(server.base + path, opts.warmup, log)  # also opens the pool's connections
        backends = postgres_backends(server.pg_name) if server.pg_name else []
        started = time.monotonic()
        busy, served = machine_busy_seconds(), server_cpu_seconds(server, backends)
        own = own_cpu_seconds()
        latency = wrk(server.base + path, opts.duration, log)
        wall = time.monotonic() - started
        server_cores = (server_cpu_seconds(server, backends) - served) / wall
        own_cores = (own_cpu_seconds() - own) / wall
        other = max(0.0, (machine_busy_seconds() - busy) / wall - server_cores - own_cores)
        attempts.append(
            replace(latency, server_cores=round(server_cores, 2), other_cores=round(other, 2))
        )
        if other <= DISTURBED_CORES:
            break
        print(f"      disturbed ({other:.2f} cores used by other processes)", flush=True)
    return min(attempts, key=lambda latency: latency.other_cores)


def percentiles(times_s: list[float], errors: int) -> Latency:
    ordered = sorted(times_s) or [0.0]
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return Latency(
        p50_ms=round(statistics.median(ordered) * 1000, 2),
        p99_ms=round(p99 * 1000, 2),
        requests=len(times_s),
        errors=errors,
    )


class Timings:
    """Request times and errors per size, for requests interleaved between servers."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {size: [] for size in SIZES}
        self.errors: dict[str, int] = dict.fromkeys(SIZES, 0)

    def timed(self, size, connection, method, path, body=None, headers=None, ok=200):
        started = time.perf_counter()
        status, answer = call(connection, method, path, body, headers)
        self.times[size].append(time.perf_counter() - started)
        self.errors[size] += status != ok
        return status, answer

    def latency(self, size: str) -> Latency:
        return percentiles(self.times[size], self.errors[size])


def interleaved_gets(servers: dict[str, Server], path: str, count: int) -> Timings:
    """``count`` GETs per server, one at a time on one kept connection each, alternating
    between the servers (in a changing order) so both see the same machine."""
    connections = {size: server.connect() for size, server in servers.items()}
    timings = Timings()
    for round_number in range(count):
        order = SIZES if round_number % 2 == 0 else SIZES[::-1]
        for size in order:
            timings.timed(size, connections[size], "GET", path)
    for connection in connections.values():
        connection.close()
    return timings


def interleaved_writes(servers: dict[str, Server], count: int) -> tuple[Timings, Timings]:
    """``count`` new surveys (POST) per server, then an update (PUT, with the key the POST
    returned) of each, alternating between the servers."""
    connections = {size: server.connect() for size, server in servers.items()}
    posts, puts = Timings(), Timings()
    created: dict[str, list[tuple[str, str]]] = {size: [] for size in SIZES}
    for round_number in range(count):
        for size in SIZES if round_number % 2 == 0 else SIZES[::-1]:
            status, body = posts.timed(
                size, connections[size], "POST", "/api/v1/surveys", NEW_SURVEY, ok=201
            )
            if status == 201:
                answer = json.loads(body)
                created[size].append((answer["survey"]["id"], answer["edit_key"]))
    for round_number in range(count):
        for size in SIZES if round_number % 2 == 0 else SIZES[::-1]:
            if round_number < len(created[size]):
                survey_id, key = created[size][round_number]
                puts.timed(
                    size,
                    connections[size],
                    "PUT",
                    f"/api/v1/surveys/{survey_id}",
                    UPDATED_SURVEY,
                    {"Authorization": f"Bearer {key}"},
                )
    for connection in connections.values():
        connection.close()
    return posts, puts


def measure_serving(databases: dict[str, Database], result: BackendResult, opts) -> None:
    with running_server(databases["small"]) as small, running_server(databases["large"]) as large:
        servers = {"small": small, "large": large}
        for name, path in PAGES.items():
            interleaved_gets(servers, path, 20)  # warm templates, caches, connections
            timings = interleaved_gets(servers, path, opts.sequential)
            for size, server in servers.items():
                sized = result.sizes[size]
                sized.pages_sequential[name] = timings.latency(size)
                sized.page_bytes[name] = page_size(server, path)
                log = databases[size].data_dir / "wrk.log"
                sized.pages_wrk[name] = measured_wrk(server, path, opts, log)
                print(
                    f"    {size} {name}: one at a time {sized.pages_sequential[name].p50_ms} ms,"
                    f" wrk {sized.pages_wrk[name]}",
                    flush=True,
                )
        posts, puts = interleaved_writes(servers, opts.writes)
        for size in SIZES:
            result.sizes[size].writes = {
                "POST /api/v1/surveys": posts.latency(size),
                "PUT /api/v1/surveys/<id>": puts.latency(size),
            }
            print(f"    {size} writes: {result.sizes[size].writes}", flush=True)


def page_size(server: Server, path: str) -> int:
    connection = server.connect()
    _, body = call(connection, "GET", path)
    connection.close()
    return len(body)


# -- one backend ------------------------------------------------------------------------


def prepare(database: Database, result: SizeResult, opts) -> None:
    """Seed the fresh database, then rebuild its statistics (timed, ``--rebuilds`` times)."""
    print(f"  {database.backend}: seeding {result.surveys:,} surveys", flush=True)
    result.seed = seed(database, result.surveys, opts.threads)
    print(f"    seeded in {result.seed.wall_s} s", flush=True)
    for _ in range(opts.rebuilds):
        result.rebuilds.append(rebuild(database))
        print(f"    stats rebuild: {result.rebuilds[-1]}", flush=True)


def bench_backend(backend: str, opts, scratch: Path) -> BackendResult:
    result = BackendResult(backend, load_average=[round(os.getloadavg()[0], 2)])
    with contextlib.ExitStack() as stack:
        databases = {
            size: stack.enter_context(fresh_database(backend, size, scratch, opts))
            for size in SIZES
        }
        for size, count in (("small", opts.small), ("large", opts.surveys)):
            result.sizes[size] = SizeResult(surveys=count)
            prepare(databases[size], result.sizes[size], opts)
        print(f"  {backend}: serving both", flush=True)
        measure_serving(databases, result, opts)
    result.load_average.append(round(os.getloadavg()[0], 2))
    return result


# -- the report ----------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "pass" if ok else "**FAIL**"


def _ms(latency: Latency) -> str:
    return f"{latency.p50_ms:g} / {latency.p99_ms:g} ms"


def report(results: list[BackendResult]) -> str:
    """The Markdown results table: one row per measurement, pass/fail per target."""
    lines = [
        "| backend | measurement | small | large | large/small p50 | target | result |",
        "| --- | --- | ---: | ---: | ---: | --- | --- |",
    ]

    def row(*cells) -> None:
        lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")

    for r in results:
        small, large = r.sizes["small"], r.sizes["large"]
        b = r.backend
        row(b, "surveys", f"{small.surveys:,}", f"{large.surveys:,}", "", "", "")
        row(
            b,
            "seed, wall time",
            f"{small.seed.wall_s} s",
            f"{large.seed.wall_s} s",
            "",
            f"<= {SEED_MAX_S / 60:.0f} min",
            verdict(large.seed.wall_s <= SEED_MAX_S),
        )
        worst = max(run.wall_s for run in large.rebuilds)
        row(
            b,
            f"stats rebuild, wall time (worst of {len(large.rebuilds)})",
            f"{max(run.wall_s for run in small.rebuilds)} s",
            f"{worst} s",
            "",
            f"< {REBUILD_MAX_S:.0f} s",
            verdict(worst < REBUILD_MAX_S),
        )
        rss = max(run.max_rss_mib for run in large.rebuilds)
        row(
            b,
            "stats rebuild, max RSS",
            f"{max(run.max_rss_mib for run in small.rebuilds)} MiB",
            f"{rss} MiB",
            "",
            "< 1 GiB",
            verdict(rss < REBUILD_MAX_RSS_MIB),
        )
        for name in PAGES:
            for kind, got in (("wrk -c4", "pages_wrk"), ("one at a time", "pages_sequential")):
                a, z = getattr(small, got)[name], getattr(large, got)[name]
                ratio = z.p50_ms / a.p50_ms
                ok = max(a.p50_ms, z.p50_ms) < PAGE_MAX_P50_MS and ratio <= FLAT_MAX_RATIO
                row(
                    b,
                    f"{name}, {kind}, p50 / p99",
                    _ms(a),
                    _ms(z),
                    f"{ratio:.2f}x",
                    f"p50 < {PAGE_MAX_P50_MS:g} ms, <= {FLAT_MAX_RATIO}x",
                    verdict(ok),
                )
        for name in small.writes:
            a, z = small.writes[name], large.writes[name]
            ratio = z.p50_ms / a.p50_ms
            row(
                b,
                f"{name} x{a.requests}, p50 / p99",
                _ms(a),
                _ms(z),
                f"{ratio:.2f}x",
                f"<= {FLAT_MAX_RATIO}x",
                verdict(ratio <= FLAT_MAX_RATIO),
            )
        errors = sum(
            latency.errors
            for size in (small, large)
            for group in (size.pages_wrk, size.pages_sequential, size.writes)
            for latency in group.values()
        )
        row(b, "errors (non-2xx, socket)", "", errors, "", "0", verdict(errors == 0))
    return "\n".join(lines)


def machine() -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line), "?")
    memory_kib = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "memory_gib": f"{memory_kib / 1024 / 1024:.1f}",
        "python": sys.version.split()[0],
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


# -- main ----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--surveys", type=int, default=1_000_000, help="the large database")
    parser.add_argument("--small", type=int, default=10_000, help="the small database")
    parser.add_argument("--threads", type=int, default=10, help="forum threads seeded too")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--rebuilds", type=int, default=2, help="stats rebuilds per database")
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk per page")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of wrk before that")
    parser.add_argument("--quiet-wait", type=float, default=30, help="max wait for quiet CPUs")
    parser.add_argument("--sequential", type=int, default=300, help="one-at-a-time GETs")
    parser.add_argument("--writes", type=int, default=200, help="POSTs, then as many PUTs")
    parser.add_argument("--scratch", type=Path, default=None, help="where the databases go")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--json", type=Path, default=None, help="also save the summary here")
    opts = parser.parse_args(argv)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    opts.results_dir = Path(__file__).resolve().parent / "results" / f"stats-{stamp}"
    return opts


def _exit_on_sigterm(_signum, _frame) -> None:
    raise SystemExit(143)  # unwinds the context managers: servers stopped, databases dropped


def main(argv: list[str] | None = None) -> None:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    opts = parse_args(argv)
    opts.results_dir.mkdir(parents=True)
    info = machine()
    print(f"machine: {info}", flush=True)
    results = []
    scratch = Path(tempfile.mkdtemp(prefix="offramp-bench-stats-", dir=opts.scratch))
    try:
        for backend in opts.backends.split(","):
            results.append(bench_backend(backend, opts, scratch))
    finally:
        if opts.keep:
            print(f"databases kept: {scratch} and offramp_bench_stats_* in PostgreSQL")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    table = report(results)
    print(table)
    summary = {
        "machine": info,
        "command": " ".join([sys.executable, *sys.argv]),
        "options": {k: str(v) for k, v in vars(opts).items()},
        "results": [asdict(r) for r in results],
        "table": table,
    }
    text = json.dumps(summary, indent=2)
    (opts.results_dir / "summary.json").write_text(text)
    if opts.json:
        opts.json.write_text(text)
    print(f"logs and summary: {opts.results_dir}")


if __name__ == "__main__":
    main()
