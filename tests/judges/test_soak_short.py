"""A short soak for CI: ``bench/soak.py`` for 15 s with 16 connections, on the
test's fresh database (SQLite or PostgreSQL, from ``--db``), through
``offramp serve --workers 2``. No request may fail, and no worker's memory may
grow by 10 % or more over the second half of the run.

The full soak (64 connections, 60 s, 5,000 threads) is run by hand; its figures
are in docs/benchmarks.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from offramp.config import Settings

SOAK = Path(__file__).resolve().parents[2] / "bench" / "soak.py"
ARGUMENTS = ["--connections", "16", "--duration", "15", "--threads", "500"]
MAX_RSS_GROWTH = 0.10


def test_short_soak_has_no_errors_and_bounded_memory(settings: Settings, tmp_path: Path):
    results = tmp_path / "soak.json"
    done = subprocess.run(
        [
            sys.executable,
            str(SOAK),
            *ARGUMENTS,
            "--database-url",
            settings.resolved_database_url,
            "--max-rss-growth",
            str(MAX_RSS_GROWTH),
            "--json",
            str(results),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = f"{done.stdout}\n{done.stderr}"
    assert results.exists(), f"bench/soak.py exited with {done.returncode}:\n{output}"
    result = json.loads(results.read_text())

    assert result["answered"] > 1000, output
    assert result["errors"] == 0, output
    assert not result["workers_vanished"], output
    assert len(result["memory"]) == 2, output  # both workers were measured
    assert result["max_rss_growth"] < MAX_RSS_GROWTH, output
    assert done.returncode == 0, output  # the script's own verdict agrees
