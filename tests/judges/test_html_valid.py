"""The W3C Nu HTML Checker judges every page state of the inventory: 0 errors.

All pages are written to files and checked in one run of ``vnu.jar`` (starting the
JVM costs more than checking a page). Each state then gets its own test, so a
failure names the page, and lists the line and message of every error.
"""

from __future__ import annotations

import json
import subprocess
from collections import defaultdict
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from .inventory import STATES, CapturedPage, PageState
from .tools import vnu_command

VNU_TIMEOUT_S = 300


def write_pages(pages: dict[str, CapturedPage], folder: Path) -> list[Path]:
    """Each page as ``<state name>.html``."""
    paths = []
    for name, page in pages.items():
        path = folder / f"{name}.html"
        path.write_text(page.html, encoding="utf-8")
        paths.append(path)
    return paths


def run_vnu(paths: list[Path]) -> list[dict]:
    """vnu's messages for all files; it reports on stderr and exits 1 on errors."""
    command = [*vnu_command(), "--format", "json", "--errors-only", *map(str, paths)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=VNU_TIMEOUT_S)
    try:
        return json.loads(result.stderr)["messages"]
    except (ValueError, KeyError):
        pytest.fail(f"vnu exited {result.returncode} without a JSON report:\n{result.stderr}")


@pytest.fixture(scope="module")
def vnu_errors(captured_pages, tmp_path_factory) -> dict[str, list[dict]]:
    """vnu's errors by state name (a file vnu could not read is an error too)."""
    paths = write_pages(captured_pages, tmp_path_factory.mktemp("vnu"))
    errors = defaultdict(list)
    for message in run_vnu(paths):
        if message.get("type") in ("error", "non-document-error"):
            name = Path(unquote(urlsplit(message.get("url", "")).path)).stem
            errors[name].append(message)
    return errors


def describe(message: dict) -> str:
    where = f"line {message['lastLine']}" if "lastLine" in message else "the document"
    extract = message.get("extract", "").strip().replace("\n", " ")
    return f"  {where}: {message['message']}" + (f"\n      {extract}" if extract else "")


def judged(state: PageState):
    """The state as a test parameter, expected to fail while it has a known issue."""
    if not state.html_known_issue:
        return pytest.param(state, id=state.name)
    known = pytest.mark.xfail(strict=True, reason=state.html_known_issue)
    return pytest.param(state, id=state.name, marks=known)


@pytest.mark.parametrize("state", [judged(state) for state in STATES])
def test_page_is_valid_html(state, captured_pages, vnu_errors):
    page = captured_pages[state.name]
    errors = vnu_errors.get(state.name, [])
    assert not errors, (
        f"{state.name} ({state.method} {page.url}): {len(errors)} HTML errors\n"
        + "\n".join(describe(message) for message in errors)
    )
