"""Benchmark the forum's three busiest pages against a bare Litestar "hello world".

What it measures
----------------
Requests per second and p50/p99 latency, as reported by ``wrk --latency``, for

* the home page ``/``,
* page 50 of a category, ``/c/employers?after=<cursor>`` (the cursor is found by
  following ``next`` through ``/api/v1/threads?category=employers&limit=25``;
  a database too small to have 50 pages uses its deepest page instead),
* a thread page ``/threads/<id>`` (a recent thread with about six replies),

each served by ``offramp serve --workers 2`` from a freshly seeded SQLite
database, twice per database: with the page cache off
(``OFFRAMP_PAGE_CACHE_SECONDS=0``: every request renders the page) and with the
default 30 s cache. It does this for a small (1,000 threads) and a large
(100,000 threads) database, and measures ``bench/hello_app.py`` served the same
way before and after: the less disturbed of those two runs is the ceiling every
figure is compared with.

Everything runs on 127.0.0.1, and wrk shares the machine's CPUs with the server.
For every run the script also records how much CPU the server, wrk and *other*
processes used, so a run disturbed by something else on the machine shows up;
before each run it waits (up to ``--quiet-wait`` seconds) for the machine to be
idle. Every server is started in its own process group and that whole group is
stopped afterwards, also on errors, Ctrl-C and SIGTERM.

Usage::

    /tmp/v/bin/python bench/forum_pages.py [--threads 100000] [--git-ref HEAD]

By default it measures the ``offramp`` package the interpreter imports (the
editable checkout in a dev venv). ``--git-ref REF`` measures a commit instead:
its tree is exported to the scratch directory and put first on ``PYTHONPATH``
for the seeding and serving processes, so edits in the working tree do not leak
into the figures (the venv must hold that commit's dependencies).

Raw wrk outputs, server logs and a JSON summary go to ``bench/results/<time>/``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
CATEGORY = "employers"
CATEGORY_PAGE = 50
API_PAGE_SIZE = 25
WANTED_REPLIES = 6  # the thread page shows a thread with (about) this many replies
DEFAULT_CACHE_SECONDS = 30
QUIET_CORES = 0.15  # the machine counts as idle below this much CPU in use
DISTURBED_CORES = 0.2  # a run is repeated if other processes used more than this
ATTEMPTS = 3

# Targets from the issue.
FRESH_MIN_SHARE = 0.04
FRESH_MAX_P99_MS = 100.0
CACHED_MIN_SHARE = 0.30
FLAT_MAX_P50_GROWTH = 1.25  # "flat": p50 at the large size within 25 % of the small one

# An opener that ignores any *_proxy variables: all traffic stays on loopback.
_http = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    bad_responses: int  # non-2xx/3xx answers
    socket_errors: int  # connect, read, write and timeout errors together


@dataclass(frozen=True)
class CpuUse:
    """Average CPU cores in use during a run, by whom."""

    server: float
    wrk: float
    other: float  # everything else on the machine: noise in the figures


@dataclass(frozen=True)
class Measurement:
    setup: str  # "hello world", "fresh render" or "cached"
    threads: int | None  # database size; None for hello world
    page: str
    path: str
    response_bytes: int
    wrk: WrkResult
    cpu: CpuUse


@dataclass(frozen=True)
class Options:
    threads: int
    small_threads: int
    replies_per_thread: int
    duration_s: int
    warmup_s: int
    connections: int
    wrk_threads: int
    workers: int
    quiet_wait_s: int
    git_ref: str | None
    results_dir: Path


@dataclass(frozen=True)
class Server:
    base: str  # http://127.0.0.1:<port>
    group: int  # process group of the supervisor and its workers


# -- CPU accounting -------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds all processes have used since boot (idle and iowait left out)."""
    user, nice, system, idle, iowait, irq, softirq, steal = (
        int(n) for n in Path("/proc/stat").read_text().split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / _TICK


def group_cpu_seconds(group: int) -> float:
    """CPU seconds used so far by the live processes of a process group."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == group:  # pgrp
                ticks += int(fields[11]) + int(fields[12])  # utime + stime
    return ticks / _TICK


def own_cpu_seconds() -> tuple[float, float]:
    """(this script, its finished children such as wrk) CPU seconds so far."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, children.ru_utime + children.ru_stime


@contextlib.contextmanager
def cpu_meter(server: Server) -> Iterator[list[CpuUse]]:
    """Yields a list that holds the run's CpuUse once the block has finished."""
    result: list[CpuUse] = []
    start = time.monotonic(), machine_busy_seconds(), group_cpu_seconds(server.group)
    own_start = own_cpu_seconds()
    yield result
    wall = time.monotonic() - start[0]
    busy = machine_busy_seconds() - start[1]
    served = group_cpu_seconds(server.group) - start[2]
    me, wrk = (now - then for now, then in zip(own_cpu_seconds(), own_start, strict=True))
    other = max(0.0, busy - served - wrk - me)
    result.append(CpuUse(server=served / wall, wrk=wrk / wall, other=other / wall))


def wait_for_quiet_machine(limit_s: int, quiet_for_s: int = 5) -> None:
    """Wait until the machine has been idle for ``quiet_for_s`` seconds in a row, or
    ``limit_s`` seconds have passed."""
    deadline = time.monotonic() + limit_s
    quiet = 0
    while quiet < quiet_for_s and time.monotonic() < deadline:
        before = machine_busy_seconds()
        time.sleep(1)
        quiet = quiet + 1 if machine_busy_seconds() - before < QUIET_CORES else 0
    if quiet < quiet_for_s:
        print("    the machine is still busy: measuring anyway", flush=True)


# -- wrk ----------------------------------------------------------------------------

_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _duration_ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNIT_MS[unit]


def parse_wrk(output: str) -> WrkResult:
    """Pull throughput, percentiles and error counts out of ``wrk --latency`` output."""

    def find(pattern: str) -> re.Match | None:
        return re.search(pattern, output, re.MULTILINE)

    rps = find(r"^Requests/sec:\s+([\d.]+)")
    p50 = find(r"^\s+50%\s+(\S+)")
    p99 = find(r"^\s+99%\s+(\S+)")
    total = find(r"^\s+(\d+) requests in ")
    if not (rps and p50 and p99 and total):
        raise RuntimeError(f"could not read wrk's output:\n{output}")
    bad = find(r"Non-2xx or 3xx responses: (\d+)")
    sockets = find(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
    return WrkResult(
        requests_per_second=float(rps.group(1)),
        p50_ms=_duration_ms(p50.group(1)),
        p99_ms=_duration_ms(p99.group(1)),
        requests=int(total.group(1)),
        bad_responses=int(bad.group(1)) if bad else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
    )


def run_wrk(url: str, seconds: int, opts: Options) -> str:
    command = [
        "wrk",
        "--latency",
        f"-t{opts.wrk_threads}",
        f"-c{opts.connections}",
        f"-d{seconds}s",
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60)
    return done.stdout


def measure(server: Server, path: str, opts: Options, raw_name: str) -> tuple[WrkResult, CpuUse]:
    """Wait for an idle machine, warm up (templates, SQLite's cache, both workers'
    page caches), then measure. A run disturbed by other processes is repeated (up
    to ATTEMPTS times in all) and the least disturbed one kept; its wrk output is
    saved in the results directory."""
    attempts = []
    for _ in range(ATTEMPTS):
        wait_for_quiet_machine(opts.quiet_wait_s)
        run_wrk(server.base + path, opts.warmup_s, opts)
        with cpu_meter(server) as cpu:
            output = run_wrk(server.base + path, opts.duration_s, opts)
        attempts.append((cpu[0], output))
        if cpu[0].other <= DISTURBED_CORES:
            break
        print(f"    disturbed ({cpu[0].other:.2f} cores used by other processes)", flush=True)
    cpu_use, output = min(attempts, key=lambda attempt: attempt[0].other)
    (opts.results_dir / f"wrk-{raw_name}.txt").write_text(output)
    return parse_wrk(output), cpu_use


# -- servers --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def clean_environment(**offramp_settings: str) -> dict[str, str]:
    """This process's environment without stray OFFRAMP_* settings, plus the given ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OFFRAMP_")}
    env.update({f"OFFRAMP_{name.upper()}": value for name, value in offramp_settings.items()})
    return env


def forum_environment(data_dir: Path, **settings: str) -> dict[str, str]:
    # Every request comes from 127.0.0.1: per-client rate limits (where the code has
    # them; older versions ignore the unknown variable) would answer 429 after a few.
    return clean_environment(data_dir=str(data_dir), rate_limits="off", **settings)


def answers_ok(url: str) -> bool:
    try:
        with _http.open(url, timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def wait_until_ready(process: subprocess.Popen, url: str, log: Path, timeout_s: float = 60):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited early; see {log}:\n{log.read_text()[-2000:]}")
        if answers_ok(url):
            return
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer {url} within {timeout_s} s; see {log}")


def stop_process_group(process: subprocess.Popen, grace_s: float = 30) -> None:
    """SIGTERM the server's whole process group (supervisor and workers), then SIGKILL."""
    group = process.pid  # the server leads its own session, so its pid is the group id
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
def running_server(
    command: list[str], env: dict[str, str], port: int, ready_path: str, log: Path
) -> Iterator[Server]:
    """Start a server in a new process group and wait until it answers."""
    with log.open("w") as log_file:
        process = subprocess.Popen(
            command, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            server = Server(base=f"http://127.0.0.1:{port}", group=process.pid)
            wait_until_ready(process, server.base + ready_path, log)
            yield server
        finally:
            stop_process_group(process)


def offramp_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "offramp", *args]


def forum_server(data_dir: Path, cache_seconds: int, opts: Options, log: Path):
    port = free_port()
    command = offramp_command("serve", "--workers", str(opts.workers), "--port", str(port))
    env = forum_environment(data_dir, page_cache_seconds=str(cache_seconds))
    return running_server(command, env, port, "/healthz", log)


def hello_server(opts: Options, log: Path):
    """bench/hello_app.py, served with the settings ``offramp serve`` gives uvicorn."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "--app-dir",
        str(BENCH_DIR),
        "hello_app:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(opts.workers),
        "--no-access-log",
        "--no-server-header",
        "--no-proxy-headers",
    ]
    return running_server(command, clean_environment(), port, "/", log)


# -- the code and machine under test ------------------------------------------------


def git(*args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(BENCH_DIR.parent), *args], capture_output=True, check=True
    )
    return done.stdout.decode().strip()


def use_commit(ref: str, scratch: Path) -> None:
    """Export ``ref``'s tree and make the child processes import offramp from it."""
    tree = scratch / "code"
    tree.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(BENCH_DIR.parent), "archive", "--format=tar", ref],
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(tree / "server"), os.environ.get("PYTHONPATH")])
    )


def describe_code(opts: Options) -> dict[str, str]:
    """Which offramp the child processes import, and which commit it is."""
    imported = subprocess.run(
        [sys.executable, "-c", "import offramp; print(offramp.__file__)"],
        env=clean_environment(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if opts.git_ref:
        return {"offramp": imported, "commit": git("rev-parse", opts.git_ref)}
    changed = git("status", "--porcelain", "--", "server", "frontend")
    return {
        "offramp": imported,
        "commit": git("rev-parse", "HEAD"),
        "working_tree": f"{len(changed.splitlines())} changed files under server/ and frontend/",
    }


def describe_machine() -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    meminfo = Path("/proc/meminfo").read_text()
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
    return {
        "cpus": str(os.cpu_count()),
        "cpu_model": re.search(r"^model name\s*:\s*(.*)$", cpuinfo, re.MULTILINE).group(1),
        "memory": re.search(r"^MemTotal:\s*(.*)$", meminfo, re.MULTILINE).group(1),
        "python": sys.version.split()[0],
        "wrk": wrk.splitlines()[0] if wrk else "?",
    }


# -- the forum's data and pages ---------------------------------------------------


def seed_database(data_dir: Path, threads: int, replies_per_thread: int) -> float:
    """Seed through the CLI, as an operator would; returns the seconds it took."""
    started = time.monotonic()
    subprocess.run(
        offramp_command(
            "seed", "--threads", str(threads), "--replies-per-thread", str(replies_per_thread)
        ),
        env=forum_environment(data_dir),
        check=True,
        timeout=3600,
    )
    return time.monotonic() - started


def get_json(url: str) -> dict:
    with _http.open(url, timeout=10) as answer:
        return json.load(answer)


def response_size(url: str) -> int:
    """Fetch the page once: it must answer 200 before wrk hammers it."""
    with _http.open(url, timeout=10) as answer:
        if answer.status != 200:
            raise RuntimeError(f"{url} answered {answer.status}")
        return len(answer.read())


def deep_category_cursor(base: str) -> tuple[str, int]:
    """The cursor of page CATEGORY_PAGE (or of the deepest page there is), and its number."""
    cursor, page = None, 1
    while page < CATEGORY_PAGE:
        query = f"category={CATEGORY}&limit={API_PAGE_SIZE}" + (f"&cursor={cursor}" * bool(cursor))
        listing = get_json(f"{base}/api/v1/threads?{query}")
        if listing["next"] is None:
            break
        cursor, page = listing["next"], page + 1
    if cursor is None:
        raise RuntimeError(f"category {CATEGORY} has a single page: seed more threads")
    return cursor, page


def thread_with_replies(base: str) -> str:
    """The latest thread whose reply count is closest to WANTED_REPLIES."""
    threads = get_json(f"{base}/api/v1/threads?limit=100")["threads"]
    best = min(threads, key=lambda t: abs(t["reply_count"] - WANTED_REPLIES))
    return best["id"]


def forum_pages(base: str) -> dict[str, str]:
    """Page label -> path, found through the API of the running server."""
    cursor, page = deep_category_cursor(base)
    return {
        "home": "/",
        f"category page {page}": f"/c/{CATEGORY}?after={cursor}",
        "thread": f"/threads/{thread_with_replies(base)}",
    }


# -- runs -----------------------------------------------------------------------------


def report_progress(m: Measurement) -> None:
    where = f"{m.threads:,} threads, {m.setup}, {m.page}" if m.threads else m.page
    print(
        f"  {where}: {m.wrk.requests_per_second:,.0f} req/s, p50 {m.wrk.p50_ms:.1f} ms, "
        f"p99 {m.wrk.p99_ms:.1f} ms (other processes: {m.cpu.other:.2f} cores)",
        flush=True,
    )


def bench_hello(opts: Options, label: str) -> Measurement:
    with hello_server(opts, opts.results_dir / f"server-{label}.log") as server:
        size = response_size(server.base + "/")
        result, cpu = measure(server, "/", opts, label)
    measurement = Measurement("hello world", None, "hello world", "/", size, result, cpu)
    report_progress(measurement)
    return measurement


def bench_forum(
    data_dir: Path, threads: int, cache_seconds: int, opts: Options
) -> list[Measurement]:
    setup = "fresh render" if cache_seconds == 0 else "cached"
    tag = f"{threads}-{'fresh' if cache_seconds == 0 else 'cached'}"
    log = opts.results_dir / f"server-{tag}.log"
    measurements = []
    with forum_server(data_dir, cache_seconds, opts, log) as server:
        for page, path in forum_pages(server.base).items():
            size = response_size(server.base + path)
            result, cpu = measure(server, path, opts, f"{tag}-{page.split()[0]}")
            measurement = Measurement(setup, threads, page, path, size, result, cpu)
            report_progress(measurement)
            measurements.append(measurement)
    return measurements


def run_all(opts: Options, scratch: Path) -> tuple[list[Measurement], dict[int, float]]:
    seed_seconds: dict[int, float] = {}
    for threads in (opts.small_threads, opts.threads):
        print(f"seeding {threads:,} threads ...", flush=True)
        seed_seconds[threads] = seed_database(
            scratch / str(threads), threads, opts.replies_per_thread
        )
    print("measuring ...", flush=True)
    measurements = [bench_hello(opts, "hello-before")]
    for threads in (opts.small_threads, opts.threads):
        for cache_seconds in (0, DEFAULT_CACHE_SECONDS):
            measurements += bench_forum(scratch / str(threads), threads, cache_seconds, opts)
    measurements.append(bench_hello(opts, "hello-after"))
    return measurements, seed_seconds


# -- report ---------------------------------------------------------------------------


def hello_ceiling(measurements: list[Measurement]) -> Measurement:
    """Hello world's least disturbed run (before or after the rest): the ceiling."""
    runs = [m for m in measurements if m.setup == "hello world"]
    return min(runs, key=lambda m: m.cpu.other)


def share(m: Measurement, ceiling: Measurement) -> float:
    """Throughput as a share of hello world's."""
    return m.wrk.requests_per_second / ceiling.wrk.requests_per_second


def share_per_core(m: Measurement, ceiling: Measurement) -> float:
    """Requests per CPU-second of the server, as a share of hello world's: what
    ``share`` would be if both servers had had the same CPU. Other processes on the
    machine take CPU from the server, so on a busy machine this is the steadier figure."""
    return (m.wrk.requests_per_second / m.cpu.server) / (
        ceiling.wrk.requests_per_second / ceiling.cpu.server
    )


def _size(n: int) -> str:
    return f"{n} B" if n < 1024 else f"{n / 1024:.1f} KiB"


def results_table(measurements: list[Measurement], ceiling: Measurement) -> str:
    lines = [
        "| Setup | Threads | Page | Size | req/s | × hello | × hello per server core "
        "| p50 ms | p99 ms | errors | CPU cores: server / wrk / other |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in measurements:
        w, cpu = m.wrk, m.cpu
        threads = f"{m.threads:,}" if m.threads else "–"
        lines.append(
            f"| {m.setup} | {threads} | {m.page} | {_size(m.response_bytes)} "
            f"| {w.requests_per_second:,.0f} | {share(m, ceiling):.1%} "
            f"| {share_per_core(m, ceiling):.1%} "
            f"| {w.p50_ms:.1f} | {w.p99_ms:.1f} | {w.bad_responses + w.socket_errors} "
            f"| {cpu.server:.2f} / {cpu.wrk:.2f} / {cpu.other:.2f} |"
        )
    return "\n".join(lines)


def _notes(m: Measurement, ceiling: Measurement) -> str:
    notes = f" (per server core: {share_per_core(m, ceiling):.1%})"
    errors = m.wrk.bad_responses + m.wrk.socket_errors
    if errors:
        notes += f" [{errors} errors or timeouts, left out of wrk's latencies]"
    return notes


def _pick(measurements: list[Measurement], setup: str, threads: int) -> list[Measurement]:
    return [m for m in measurements if m.setup == setup and m.threads == threads]


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def target_checks(
    measurements: list[Measurement], ceiling: Measurement, big: int, small: int
) -> list[str]:
    """One line per target and page: PASS or FAIL with the figures behind it. The
    verdicts use measured throughput; the per-core share is given beside it."""
    lines = []
    for m in _pick(measurements, "fresh render", big):
        p99 = m.wrk.p99_ms
        ok = share(m, ceiling) >= FRESH_MIN_SHARE and p99 < FRESH_MAX_P99_MS
        lines.append(
            f"{_verdict(ok)}  fresh render, {m.page}: {share(m, ceiling):.1%} of hello "
            f"(≥ {FRESH_MIN_SHARE:.0%}), p99 {p99:.0f} ms (< {FRESH_MAX_P99_MS:.0f} ms)"
            + _notes(m, ceiling)
        )
    for m in _pick(measurements, "cached", big):
        ok = share(m, ceiling) >= CACHED_MIN_SHARE
        lines.append(
            f"{_verdict(ok)}  cached, {m.page}: {share(m, ceiling):.1%} of hello "
            f"(≥ {CACHED_MIN_SHARE:.0%})" + _notes(m, ceiling)
        )
    pairs = zip(
        _pick(measurements, "fresh render", small),
        _pick(measurements, "fresh render", big),
        strict=True,
    )
    for tiny, large in pairs:
        growth = large.wrk.p50_ms / tiny.wrk.p50_ms
        lines.append(
            f"{_verdict(growth <= FLAT_MAX_P50_GROWTH)}  flat p50, fresh render, {large.page}: "
            f"{tiny.wrk.p50_ms:.1f} ms at {small:,} ({tiny.page}) → {large.wrk.p50_ms:.1f} ms "
            f"at {big:,} threads (×{growth:.2f}, ≤ ×{FLAT_MAX_P50_GROWTH})"
        )
    return lines


def run_summary(code: dict, seed_seconds: dict, opts: Options, argv: list[str]) -> dict:
    return {
        "command": " ".join([sys.executable, *argv]),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": describe_machine(),
        "code": code,
        "options": {k: str(v) for k, v in asdict(opts).items()},
        "seed_seconds": seed_seconds,
    }


def write_report(results_dir: Path, summary: dict, measurements: list[Measurement]) -> None:
    """Compare with hello world, check the targets, write results.json and table.md."""
    ceiling = hello_ceiling(measurements)
    options = summary["options"]
    checks = target_checks(
        measurements, ceiling, int(options["threads"]), int(options["small_threads"])
    )
    summary |= {"hello_ceiling_rps": ceiling.wrk.requests_per_second, "checks": checks}
    table = results_table(measurements, ceiling)
    (results_dir / "results.json").write_text(json.dumps(summary, indent=2))
    (results_dir / "table.md").write_text(table + "\n\n" + "\n".join(checks) + "\n")
    print(f"\n{table}\n\n" + "\n".join(checks) + f"\n\nresults: {results_dir}")


def load_measurements(summary: dict) -> list[Measurement]:
    return [
        Measurement(**{**m, "wrk": WrkResult(**m["wrk"]), "cpu": CpuUse(**m["cpu"])})
        for m in summary["measurements"]
    ]


# -- command line ---------------------------------------------------------------------


def parse_options(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=100_000, help="large database size")
    parser.add_argument("--small-threads", type=int, default=1_000, help="small database size")
    parser.add_argument("--replies-per-thread", type=int, default=4)
    parser.add_argument("--duration", type=int, default=15, help="seconds per wrk run")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up before each")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument(
        "--quiet-wait", type=int, default=300, help="most seconds to wait for an idle machine"
    )
    parser.add_argument("--git-ref", help="benchmark this commit instead of the installed code")
    parser.add_argument("--results", type=Path, default=BENCH_DIR / "results")
    parser.add_argument(
        "--report",
        type=Path,
        metavar="RUN_DIR",
        help="measure nothing: redo the table and checks of a finished run's results.json",
    )
    args = parser.parse_args(argv)
    if args.report:
        summary = json.loads((args.report / "results.json").read_text())
        write_report(args.report, summary, load_measurements(summary))
        sys.exit(0)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Options(
        threads=args.threads,
        small_threads=args.small_threads,
        replies_per_thread=args.replies_per_thread,
        duration_s=args.duration,
        warmup_s=args.warmup,
        connections=args.connections,
        wrk_threads=args.wrk_threads,
        workers=args.workers,
        quiet_wait_s=args.quiet_wait,
        git_ref=args.git_ref,
        results_dir=args.results / stamp,
    )


def _exit_on_sigterm(_signum, _frame) -> None:
    raise SystemExit(143)  # unwinds through the finally blocks that stop the servers


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    opts = parse_options(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    opts.results_dir.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="offramp-bench-") as scratch:
        if opts.git_ref:
            use_commit(opts.git_ref, Path(scratch))
        code = describe_code(opts)
        print(f"benchmarking {code}", flush=True)
        measurements, seed_seconds = run_all(opts, Path(scratch))
    summary = run_summary(code, seed_seconds, opts, [__file__, *argv])
    summary["measurements"] = [asdict(m) for m in measurements]
    write_report(opts.results_dir, summary, measurements)


if __name__ == "__main__":
    main()
