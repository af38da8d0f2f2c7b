"""The scale test, bounded (``bench/scale.py`` in short): a fresh database with a
streaming replica, Redis, three instances behind nginx, mixed traffic (survey
updates included) with one instance SIGKILLed and restarted; 0 lost acknowledged
writes, no failed GET, coherent caches, one rate-limit bucket across instances,
sessions known and ended everywhere, no client canary anywhere. The run-once check
waits until a minute after the last instance started (app.py's first look at the
statistics rebuild), which would double the time: it runs in the full version only.
PostgreSQL only (the replica needs it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import Backend

ROOT = Path(__file__).resolve().parents[2]


def test_three_instances_behind_nginx_survive_a_kill(backend: Backend):
    if backend.name != "postgres":
        pytest.skip("the scale test runs on PostgreSQL (it streams a replica)")
    command = [sys.executable, str(ROOT / "bench" / "scale.py"), "--seconds", "12",
               "--connections", "16", "--kill-at", "4", "--restart-at", "8",
               "--no-run-once"]  # fmt: skip
    env = {**os.environ, "OFFRAMP_TEST_POSTGRES_URL": backend.admin_url}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.stdout, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["problems"] == [], result
    assert result["killed_and_restarted"] and result["get_failures"] == 0
    acknowledged = result["acknowledged"]
    assert acknowledged["threads"] > 0 and acknowledged["replies"] > 0
    assert acknowledged["survey_updates"] > 0
    assert result["rate_limited_client"].count(429) > 0
    assert done.returncode == 0
    shutil.rmtree(result["logs"], ignore_errors=True)
