"""The outside judges' tools: the W3C Nu HTML Checker, axe-core and Chromium.

``vnu-jar`` (the checker, run with the machine's ``java``) and ``axe-core`` come from
the npm registry, at the versions pinned in ``NPM_PACKAGES``, installed with
``npm install --prefix`` into a cache directory: ``$OFFRAMP_TOOLS_DIR``, else
``~/.cache/offramp-judges``. An install whose versions match is reused. Chromium is
Debian's (``/usr/bin/chromium``), driven by Playwright.

A missing tool skips the judges with the reason; under CI (``CI`` set and not
empty) it fails them instead, so CI cannot pass without judging.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import NoReturn

import pytest

# The one place the judges' versions are pinned.
NPM_PACKAGES = {"vnu-jar": "26.9.27", "axe-core": "4.14.1"}

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
NPM_TIMEOUT_S = 300


def unavailable(reason: str) -> NoReturn:
    """Skip locally; fail under CI, where every judge must run."""
    if os.environ.get("CI"):
        pytest.fail(f"a judge cannot run in CI: {reason}", pytrace=False)
    pytest.skip(f"judge tool missing: {reason}")


def tools_dir() -> Path:
    configured = os.environ.get("OFFRAMP_TOOLS_DIR")
    return Path(configured) if configured else Path.home() / ".cache" / "offramp-judges"


def _installed_version(modules: Path, package: str) -> str | None:
    try:
        manifest = json.loads((modules / package / "package.json").read_text())
    except (OSError, ValueError):
        return None
    return manifest.get("version")


def _npm_install(prefix: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        unavailable("npm is not installed (apt-get install nodejs npm)")
    prefix.mkdir(parents=True, exist_ok=True)
    specs = [f"{name}@{version}" for name, version in NPM_PACKAGES.items()]
    command = [
        npm,
        "install",
        "--prefix",
        str(prefix),
        "--no-audit",
        "--no-fund",
        "--save-exact",
        *specs,
    ]
    try:
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=NPM_TIMEOUT_S)
    except subprocess.CalledProcessError as exc:
        unavailable(f"`{' '.join(command)}` failed:\n{exc.stderr[-2000:]}")
    except subprocess.TimeoutExpired:
        unavailable(f"`{' '.join(command)}` did not finish within {NPM_TIMEOUT_S} s")


@cache
def node_modules() -> Path:
    """The cache's ``node_modules``, holding the pinned npm packages (installed if needed)."""
    prefix = tools_dir()
    modules = prefix / "node_modules"
    if any(_installed_version(modules, name) != version for name, version in NPM_PACKAGES.items()):
        _npm_install(prefix)
    return modules


def vnu_command() -> list[str]:
    """The command that runs the Nu HTML Checker."""
    java = shutil.which("java")
    if java is None:
        unavailable("java is not installed (apt-get install default-jre-headless)")
    return [java, "-jar", str(node_modules() / "vnu-jar" / "build" / "dist" / "vnu.jar")]


def axe_source() -> str:
    """axe-core's script, to inject into pages."""
    return (node_modules() / "axe-core" / "axe.min.js").read_text(encoding="utf-8")


def chromium_path() -> Path:
    """Debian's Chromium, checked to be there together with Playwright."""
    if not CHROMIUM.exists():
        unavailable(f"{CHROMIUM} is not installed (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        unavailable("Playwright for Python is not installed (pip install -e '.[test]')")
    return CHROMIUM
