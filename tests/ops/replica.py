"""A real streaming replica of the test PostgreSQL server, on another loopback port.

``pg_basebackup -R`` copies the running server into a temporary directory (as the
``postgres`` OS user when run as root: PostgreSQL refuses to run as root) and
``pg_ctl`` starts it as a hot standby that streams from the primary. Debian keeps
``postgresql.conf`` and ``pg_hba.conf`` outside the data directory, so minimal ones
are written. The primary must allow replication connections from 127.0.0.1
(``.ci/run`` adds the ``pg_hba.conf`` line). This module needs no pytest, so
``bench/scale.py`` uses it too.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


class ReplicaUnavailable(RuntimeError):
    """The replica cannot be made here; the message says why."""


@dataclass
class Replica:
    port: int
    directory: Path

    def url_for(self, primary_url: str) -> str:
        """``primary_url`` with the replica's port (same database, same user)."""
        parts = urlsplit(primary_url)
        netloc = f"{parts.username or 'postgres'}@127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))


def _tool(name: str) -> str:
    for directory in BIN_DIRS:
        if (directory / name).exists():
            return str(directory / name)
    found = shutil.which(name)
    if not found:
        raise ReplicaUnavailable(f"{name} not found (Debian: apt-get install postgresql)")
    return found


def _as_postgres(command: list[str], timeout_s: float) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)


@contextlib.contextmanager
def streaming_replica(primary_url: str, port: int, timeout_s: float = 90) -> Iterator[Replica]:
    parts = urlsplit(primary_url)
    directory = Path(tempfile.mkdtemp(prefix="offramp-replica-"))
    data = directory / "data"
    if os.geteuid() == 0:
        postgres = pwd.getpwnam("postgres")
        os.chown(directory, postgres.pw_uid, postgres.pw_gid)
    base = _as_postgres(
        [
            _tool("pg_basebackup"),
            "-h", parts.hostname or "127.0.0.1",
            "-p", str(parts.port or 5432),
            "-U", parts.username or "postgres",
            "-D", str(data),
            "-R", "-X", "stream", "-c", "fast",
        ],
        timeout_s,
    )  # fmt: skip
    if base.returncode != 0:
        shutil.rmtree(directory, ignore_errors=True)
        raise ReplicaUnavailable(f"pg_basebackup failed: {base.stderr.strip()[-400:]}")
    settings = [
        f"port = {port}",
        "listen_addresses = '127.0.0.1'",
        f"unix_socket_directories = '{directory}'",
        "hot_standby = on",
        "max_connections = 100",
        "shared_buffers = 32MB",
        f"hba_file = '{data / 'replica_hba.conf'}'",
        "logging_collector = off",
    ]
    _write_as_postgres(data / "postgresql.conf", "\n".join(settings) + "\n")
    _write_as_postgres(
        data / "replica_hba.conf", "local all all trust\nhost all all 127.0.0.1/32 trust\n"
    )
    started = _as_postgres(
        [_tool("pg_ctl"), "-D", str(data), "-l", str(directory / "log"), "-w", "-t", "60",
         "start"],
        timeout_s,
    )  # fmt: skip
    if started.returncode != 0:
        log = (directory / "log").read_text() if (directory / "log").exists() else ""
        shutil.rmtree(directory, ignore_errors=True)
        raise ReplicaUnavailable(f"the replica did not start: {started.stderr}{log[-600:]}")
    try:
        yield Replica(port=port, directory=directory)
    finally:
        _as_postgres([_tool("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], 60)
        shutil.rmtree(directory, ignore_errors=True)


def _write_as_postgres(path: Path, text: str) -> None:
    path.write_text(text)
    if os.geteuid() == 0:
        postgres = pwd.getpwnam("postgres")
        os.chown(path, postgres.pw_uid, postgres.pw_gid)
