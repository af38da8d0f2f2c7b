"""``offramp backup PATH`` and ``offramp restore PATH``.

SQLite goes through SQLite's online backup API: one step copies a consistent
snapshot while the server keeps writing (in WAL mode readers never block writers),
and the copy becomes a single self-contained file. PostgreSQL goes through
``pg_dump`` / ``pg_restore`` in custom format: one snapshot, compressed, restorable
table by table. Either way the backup is written under a temporary name, readable
by its owner only, checked, and only then renamed into place, so a half-written
file never carries the final name.

A restore goes into an empty database (refused otherwise, unless ``force``), in one
transaction on PostgreSQL and through the same backup API on SQLite, so the target's
write-ahead log stays consistent. Stop the app before restoring over live data.

A backup holds everything the database holds (hashes of edit keys and passphrases
included): keep it as carefully as the database.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from offramp.config import Settings

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"
FINGERPRINT_BATCH = 2000


class BackupError(RuntimeError):
    """A backup or restore that cannot go ahead; the message says what to do."""


@dataclass(frozen=True)
class Outcome:
    """What a backup or restore did, for the operator."""

    action: str
    path: Path
    engine: str
    seconds: float

    def describe(self) -> str:
        size = self.path.stat().st_size
        return (
            f"{self.action} {self.path} ({self.engine}, {size / 1e6:.1f} MB) "
            f"in {self.seconds:.1f} s"
        )


# -- entry points -----------------------------------------------------------------------


def backup(settings: Settings, path: Path) -> Outcome:
    """Write a backup of the configured database to ``path``."""
    started = time.monotonic()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = _private_empty_file(path.with_name(f".{path.name}.partial"))
    try:
        if settings.is_sqlite:
            backup_sqlite(settings.sqlite_path, partial)
        else:
            backup_postgres(settings.resolved_database_url, partial)
        _fsync(partial)
        os.replace(partial, path)
        _fsync(path.parent)
    finally:
        partial.unlink(missing_ok=True)
    return Outcome("backup written to", path, _engine(settings), time.monotonic() - started)


def restore(settings: Settings, path: Path, *, force: bool = False) -> Outcome:
    """Restore the backup at ``path`` into the configured (empty) database."""
    started = time.monotonic()
    kind = backup_kind(path)
    if kind != _engine(settings):
        raise BackupError(
            f"{path} is a {kind} backup but OFFRAMP_DATABASE_URL points at {_engine(settings)}: "
            f"restore it into a {kind} database"
        )
    if settings.is_sqlite:
        restore_sqlite(path, settings.sqlite_path, force=force)
    else:
        restore_postgres(path, settings.resolved_database_url, force=force)
    return Outcome("restored from", path, kind, time.monotonic() - started)


def backup_kind(path: Path) -> str:
    """``sqlite`` or ``postgresql``, from the file's first bytes."""
    try:
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror}") from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_DUMP_MAGIC):
        return "postgresql"
    raise BackupError(f"{path} is neither a SQLite backup nor a pg_dump custom-format archive")


# -- SQLite -----------------------------------------------------------------------------


def backup_sqlite(source: Path, target: Path) -> None:
    """Copy a consistent snapshot of ``source`` into ``target`` while writers go on."""
    live = _open_existing_sqlite(source)
    copy = sqlite3.connect(target)
    try:
        live.backup(copy)  # all pages in one step: one read snapshot, writers not blocked
        copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal
        _check_sqlite_integrity(copy, target)
    finally:
        copy.close()
        live.close()


def restore_sqlite(backup_file: Path, target: Path, *, force: bool) -> None:
    """Copy the backup into ``target`` through the backup API (which takes the
    target's write lock and keeps its write-ahead log consistent)."""
    if target.exists() and target.resolve() == backup_file.resolve():
        raise BackupError("the backup and the database are the same file")
    source = _open_existing_sqlite(backup_file, mode="ro")
    try:
        _check_sqlite_integrity(source, backup_file)
        target.parent.mkdir(parents=True, exist_ok=True)
        destination = sqlite3.connect(target)
        try:
            if not force and _sqlite_tables(destination):
                raise BackupError(
                    f"{target} already holds tables: restore into an empty database, or pass "
                    "--force to replace its contents (stop the app first)"
                )
            source.backup(destination)
            destination.execute("PRAGMA journal_mode = WAL")
        finally:
            destination.close()
    finally:
        source.close()


def _open_existing_sqlite(path: Path, mode: str = "rw") -> sqlite3.Connection:
    """Open a database that must already exist (plain ``connect`` would create one)."""
    if not path.is_file():
        raise BackupError(f"no SQLite database at {path}")
    return sqlite3.connect(f"file:{path}?mode={mode}", uri=True, timeout=30)


def _sqlite_tables(connection: sqlite3.Connection) -> list[str]:
    rows = connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    return [name for (name,) in rows]


def _check_sqlite_integrity(connection: sqlite3.Connection, path: Path) -> None:
    (verdict,) = connection.execute("PRAGMA integrity_check").fetchone()
    if verdict != "ok":
        raise BackupError(f"{path} failed SQLite's integrity check: {verdict}")


# -- PostgreSQL -------------------------------------------------------------------------


def backup_postgres(url: str, target: Path) -> None:
    """``pg_dump`` in custom format (one snapshot), then ``pg_restore --list`` as a check."""
    connection = _libpq_environment(url)
    _run_tool(["pg_dump", "--format=custom", "--file", str(target)], connection)
    _run_tool(["pg_restore", "--list", str(target)], connection)


def restore_postgres(backup_file: Path, url: str, *, force: bool) -> None:
    """``pg_restore`` in one transaction into an existing, empty database. Roles and
    grants are not restored: the new server's own user owns what is created."""
    connection = _libpq_environment(url)
    _refuse_busy_or_filled_database(connection, force=force)
    command = [
        "pg_restore",
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
        "--dbname",
        connection["PGDATABASE"],
    ]
    if force:
        command += ["--clean", "--if-exists"]
    _run_tool([*command, str(backup_file)], connection)


def _refuse_busy_or_filled_database(connection: dict[str, str], *, force: bool) -> None:
    counts = _run_tool(
        [
            "psql",
            "--no-psqlrc",
            "--tuples-only",
            "--no-align",
            "--field-separator=,",
            "--command",
            "SELECT (SELECT count(*) FROM pg_tables WHERE schemaname = 'public'), "
            "(SELECT count(*) FROM pg_stat_activity "
            " WHERE datname = current_database() AND pid <> pg_backend_pid())",
        ],
        connection,
    ).strip()
    tables, others = (int(part) for part in counts.split(","))
    if others:
        raise BackupError(
            f"{others} other connection(s) to database {connection['PGDATABASE']}: "
            "stop the app before restoring"
        )
    if tables and not force:
        raise BackupError(
            f"database {connection['PGDATABASE']} already holds {tables} tables: restore into "
            "an empty database (createdb NAME), or pass --force to replace its contents"
        )


def _libpq_environment(url: str) -> dict[str, str]:
    """The connection as libpq environment variables, so no password ever appears on
    a command line (where ``ps`` would show it)."""
    parts = urlsplit(url)
    variables = {
        "PGHOST": parts.hostname or "127.0.0.1",
        "PGPORT": str(parts.port or 5432),
        "PGUSER": unquote(parts.username or "postgres"),
        "PGDATABASE": unquote(parts.path.lstrip("/")) or "postgres",
    }
    if parts.password:
        variables["PGPASSWORD"] = unquote(parts.password)
    return variables


def _run_tool(command: list[str], connection: dict[str, str]) -> str:
    """Run a PostgreSQL client program; its own message explains a failure."""
    program = shutil.which(command[0])
    if program is None:
        raise BackupError(
            f"{command[0]} is not installed: install the PostgreSQL client programs "
            "(Debian: postgresql-client), the server's major version or newer"
        )
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    done = subprocess.run(
        [program, *command[1:]],
        env=env | connection,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip() or done.returncode}")
    return done.stdout


# -- files ------------------------------------------------------------------------------


def _private_empty_file(path: Path) -> Path:
    """An empty file only its owner can read (backups hold every secret hash)."""
    path.unlink(missing_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return path


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _engine(settings: Settings) -> str:
    return "sqlite" if settings.is_sqlite else "postgresql"


# -- what a database holds, to compare a restore with its source ------------------------


async def table_fingerprints() -> dict[str, tuple[int, str]]:
    """For every table of the bound database: (row count, SHA-256 of its rows in
    primary-key order). Two databases with equal fingerprints hold the same data."""
    from offramp.db import all_tables

    fingerprints = {}
    for table in all_tables():
        if not await table.table_exists():  # a backup older than this code's tables
            continue
        digest = hashlib.sha256()
        count = 0
        async for row in _rows_in_key_order(table):
            digest.update(json.dumps(row, sort_keys=True, default=repr).encode())
            digest.update(b"\n")
            count += 1
        fingerprints[table._meta.tablename] = (count, digest.hexdigest())
    return fingerprints


async def _rows_in_key_order(table):
    """Every row, a batch at a time (keyset pagination on the primary key)."""
    key = table._meta.primary_key
    last = None
    while True:
        query = table.select().order_by(key).limit(FINGERPRINT_BATCH)
        if last is not None:
            query = query.where(key > last)
        rows = await query
        for row in rows:
            yield row
        if len(rows) < FINGERPRINT_BATCH:
            return
        last = rows[-1][key._meta.name]
