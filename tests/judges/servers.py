"""Run ``offramp serve`` as a real subprocess, for tests and benchmarks that judge
the server from the outside.

Each server is started in its own process group (``start_new_session``), so the
uvicorn supervisor, its workers and multiprocessing's resource tracker can be
signalled together: :meth:`Server.kill` is a crash (SIGKILL to the whole group),
:meth:`Server.stop` a clean shutdown. The server is given its settings through
``OFFRAMP_*`` variables only; stray ``OFFRAMP_*`` variables of the calling process
are dropped so they cannot leak in. Its output goes to a log file.

Typical use::

    with running_server(settings, log_path=tmp_path / "server.log", workers=2) as server:
        httpx.get(f"{server.url}/healthz")

This module needs the standard library and ``offramp`` only (no pytest), so
``bench/`` scripts can import it too. Finding worker processes and telling dead
processes from zombies reads ``/proc`` and so works on Linux only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from offramp.config import Settings

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0

# Health checks ignore any *_proxy variables: everything stays on loopback.
_loopback = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ServerFailed(RuntimeError):
    """The server exited or never became healthy; the message ends with its log."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_environment(
    settings: Settings, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """This process's environment without its ``OFFRAMP_*`` variables, plus every
    field ``settings`` sets (``OFFRAMP_DATABASE_URL``, ``OFFRAMP_DATA_DIR``,
    ``OFFRAMP_SECRET_KEY``…) and ``extra``."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("OFFRAMP_")}
    for name, value in settings.model_dump(exclude_none=True).items():
        env[f"OFFRAMP_{name.upper()}"] = str(value.value if isinstance(value, Enum) else value)
    env["PYTHONUNBUFFERED"] = "1"  # the log shows what happened up to a kill
    env.update(extra or {})
    return env


def without_abuse_limits(settings: Settings) -> Settings:
    """``settings`` for a load or crash judge: one client address sends every request,
    so rate limits and proof-of-work are turned off where this version has them."""
    switches = {"rate_limits": "off", "proof_of_work": False}
    return settings.model_copy(
        update={name: value for name, value in switches.items() if name in Settings.model_fields}
    )


@dataclass
class Server:
    """One ``offramp serve`` process group. Restartable on the same port."""

    settings: Settings
    log_path: Path
    workers: int = 1
    port: int = field(default_factory=free_port)
    extra_env: Mapping[str, str] | None = None
    migrate: bool = True  # False passes --no-migrate (the database is migrated already)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = START_TIMEOUT_S) -> None:
        """Start the server and wait until ``/healthz`` answers 200."""
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("the server is already running")
        command = [
            sys.executable,
            "-m",
            "offramp",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
        ]
        if not self.migrate:
            command.append("--no-migrate")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:  # append: one log across restarts
            log.write(f"--- {' '.join(command[1:])}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                command,
                env=server_environment(self.settings, self.extra_env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, led by this pid
            )
        self._wait_until_healthy(timeout_s)

    def kill(self) -> None:
        """Crash the server: SIGKILL every process of its group and wait until they
        are all gone (so nothing still holds the port, locks or open files)."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=STOP_TIMEOUT_S)
        self._wait_for_group_exit(STOP_TIMEOUT_S)

    def stop(self, grace_s: float = STOP_TIMEOUT_S) -> None:
        """Shut down cleanly (SIGTERM to the group); SIGKILL what is left after ``grace_s``."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=grace_s)
            self._wait_for_group_exit(grace_s)
        except (subprocess.TimeoutExpired, TimeoutError):
            self.kill()

    def worker_pids(self) -> list[int]:
        """Pids of the processes that serve requests: the uvicorn workers when
        ``workers > 1`` (the supervisor only watches them), else the server itself."""
        if self.process is None:
            return []
        if self.workers == 1:
            return [self.process.pid]
        return sorted(
            pid
            for pid, info in _processes().items()
            if info.parent == self.process.pid and "multiprocessing.spawn" in info.command
        )

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    # -- internals ------------------------------------------------------------------

    def _wait_until_healthy(self, timeout_s: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout_s
        while True:
            if self.process.poll() is not None:
                raise ServerFailed(
                    f"offramp serve exited with {self.process.returncode}:\n{self.log()[-4000:]}"
                )
            if _answers(f"{self.url}/healthz"):
                return
            if time.monotonic() > deadline:
                self.kill()
                raise ServerFailed(
                    f"offramp serve did not answer /healthz within {timeout_s:.0f} s:\n"
                    f"{self.log()[-4000:]}"
                )
            time.sleep(0.05)

    def _wait_for_group_exit(self, timeout_s: float) -> None:
        assert self.process is not None
        group = self.process.pid
        deadline = time.monotonic() + timeout_s
        while _group_alive(group):
            if time.monotonic() > deadline:
                raise TimeoutError(f"process group {group} is still alive after {timeout_s} s")
            time.sleep(0.02)


def _answers(url: str) -> bool:
    try:
        with _loopback.open(url, timeout=2) as answer:
            return answer.status == 200
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def running_server(settings: Settings, log_path: Path, **options) -> Iterator[Server]:
    """A started :class:`Server` that is stopped (its whole group) on the way out."""
    server = Server(settings=settings, log_path=log_path, **options)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# -- /proc ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ProcessInfo:
    state: str  # R, S, D, Z (zombie)…
    parent: int
    group: int
    command: str


def _processes() -> dict[int, _ProcessInfo]:
    """Every process visible in /proc (Linux)."""
    found: dict[int, _ProcessInfo] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # it exited while we looked
            continue
        # "pid (name) state ppid pgrp …": the name may hold spaces and parentheses.
        fields = stat[stat.rindex(")") + 2 :].split()
        found[int(entry.name)] = _ProcessInfo(
            state=fields[0], parent=int(fields[1]), group=int(fields[2]), command=command
        )
    return found


def _group_alive(group: int) -> bool:
    """Whether any process of the group still runs. A killed process whose parent
    has not reaped it yet (a zombie) holds nothing any more, so it does not count."""
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    if not Path("/proc").is_dir():
        return True
    return any(info.group == group and info.state != "Z" for info in _processes().values())


def rss_bytes(pid: int) -> int | None:
    """Resident memory of a process (VmRSS), or None once it has gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024  # reported in kB
    return None


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time a process has used so far, or None once it has gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")
