#!/usr/bin/env python3
"""Offramp's two quick-start commands; each sets itself up from a fresh clone.

    python3 dev.py demo   # the forum with synthetic demo data on http://127.0.0.1:8000/
    python3 dev.py test   # the whole test suite: SQLite, and PostgreSQL when configured

Both create ``.venv`` (once) and install the project into it (again whenever
pyproject.toml changes). Only Python 3.11+ is needed. The PostgreSQL run needs
``OFFRAMP_TEST_POSTGRES_URL`` (e.g. postgresql://postgres@127.0.0.1:5432/postgres);
browser tests need Debian's ``chromium``. Without them those tests are skipped
with the reason shown, except under CI (``CI`` set), where they fail.
Extra arguments after ``test`` go to pytest (``python3 dev.py test -k pages``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".offramp-installed"


def ensure_environment() -> None:
    """Create the virtual environment and install the project with its test tools."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs before any install
        sys.exit("Offramp needs Python 3.11 or newer.")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing offramp and its test tools into .venv ...", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "--editable", f"{ROOT}[test]"], check=True)
    STAMP.write_text(wanted)


def run_demo(args: list[str]) -> int:
    return subprocess.call([str(BIN / "offramp"), "demo", *args], cwd=ROOT)


def run_tests(args: list[str]) -> int:
    pytest = [str(BIN / "python"), "-m", "pytest", *args]
    print("== tests on SQLite ==", flush=True)
    status = subprocess.call([*pytest, "--db", "sqlite"], cwd=ROOT)
    if os.environ.get("OFFRAMP_TEST_POSTGRES_URL") or os.environ.get("CI"):
        print("== tests on PostgreSQL ==", flush=True)
        status = subprocess.call([*pytest, "--db", "postgres"], cwd=ROOT) or status
    else:
        print("PostgreSQL run skipped: set OFFRAMP_TEST_POSTGRES_URL to include it.")
    return status


COMMANDS = {"demo": run_demo, "test": run_tests}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    ensure_environment()
    sys.exit(COMMANDS[sys.argv[1]](sys.argv[2:]))


if __name__ == "__main__":
    main()
