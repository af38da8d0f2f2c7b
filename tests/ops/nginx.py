"""The proxy configuration in deploy/nginx/, made runnable on this machine.

The shipped files name their install locations (``/etc/nginx/offramp/``, the TLS
files under ``/etc/offramp/tls/``, static files under ``/srv/offramp``). A test tree
is the same files with only those locations (and, to run it, the ports and the pid
file) moved into a temporary directory, so what ``nginx -t`` checks and what runs
in the tests is the shipped configuration.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NGINX_DIR = ROOT / "deploy" / "nginx"
SITE_FILES = ["offramp.conf", "onion.conf", "locations.conf"]
TEMP_PATHS = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]


def nginx_binary() -> str:
    """Debian's nginx, or a skip (a failure under CI, which installs it)."""
    found = shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx",) if os.access(path, os.X_OK)), None
    )
    if found is None:
        message = "nginx is not installed (Debian: apt-get install nginx; .ci/run does this)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def self_signed_certificate(directory: Path) -> None:
    """fullchain.pem and privkey.pem for localhost, valid for a day."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=localhost",
            "-keyout", str(directory / "privkey.pem"),
            "-out", str(directory / "fullchain.pem"),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip


@dataclass
class Ports:
    http: int
    https: int
    onion: int


def _relocate(text: str, tree: Path) -> str:
    """Point the install locations at the test tree (each must occur where used)."""
    return (
        text.replace("/etc/nginx/offramp/", f"{tree}/offramp/")
        .replace("/etc/offramp/tls/", f"{tree}/tls/")
        .replace("/srv/offramp", str(ROOT / "frontend"))
    )


def _runnable(text: str, tree: Path, ports: Ports) -> str:
    """Loopback ports instead of 80/443/8080, no IPv6 listeners, and files that an
    unprivileged run can write."""
    text = re.sub(r"^\s*listen \[::\]:.*\n", "", text, flags=re.MULTILINE)
    text = text.replace("listen 80 default_server;", f"listen 127.0.0.1:{ports.http};")
    text = text.replace(
        "listen 443 ssl http2 default_server;", f"listen 127.0.0.1:{ports.https} ssl http2;"
    )
    text = text.replace("listen 127.0.0.1:8080;", f"listen 127.0.0.1:{ports.onion};")
    text = text.replace("pid /run/nginx.pid;", f"pid {tree}/nginx.pid;")
    text = re.sub(r"^user .*;\n", "", text, flags=re.MULTILINE)
    temp_paths = "".join(f"    {name}_temp_path {tree}/tmp/{name};\n" for name in TEMP_PATHS)
    return text.replace("http {\n", "http {\n" + temp_paths, 1)


def build_tree(
    tree: Path,
    upstream: str | None = None,
    upstream_file: str = "upstream-vm.conf",
    onion: bool = True,
    ports: Ports | None = None,
) -> Path:
    """Write a test copy of the configuration into ``tree``; return its nginx.conf.

    ``upstream`` replaces the upstream file's contents (to point at test servers);
    ``onion`` includes the onion server as an operator would; ``ports`` makes the
    tree runnable."""
    (tree / "offramp").mkdir(parents=True, exist_ok=True)
    for name in TEMP_PATHS:
        (tree / "tmp" / name).mkdir(parents=True, exist_ok=True)
    self_signed_certificate(tree / "tls")
    files = {name: (NGINX_DIR / name).read_text() for name in SITE_FILES}
    files["upstream.conf"] = upstream or (NGINX_DIR / upstream_file).read_text()
    if onion:
        files["offramp.conf"] += "\ninclude /etc/nginx/offramp/onion.conf;\n"
    main = _relocate((NGINX_DIR / "nginx.conf").read_text(), tree)
    if ports is not None:
        main = _runnable(main, tree, ports)
    (tree / "nginx.conf").write_text(main)
    for name, text in files.items():
        text = _relocate(text, tree)
        if ports is not None:
            text = _runnable(text, tree, ports)
        (tree / "offramp" / name).write_text(text)
    return tree / "nginx.conf"


def nginx_test(config: Path) -> subprocess.CompletedProcess:
    """``nginx -t`` on a configuration file."""
    return subprocess.run(
        [nginx_binary(), "-t", "-c", str(config)], capture_output=True, text=True, timeout=30
    )


@contextlib.contextmanager
def running_nginx(config: Path, log: Path) -> Iterator[subprocess.Popen]:
    """nginx in the foreground on ``config``; stopped (and reaped) on the way out."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            [nginx_binary(), "-c", str(config), "-g", "daemon off;"],
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        time.sleep(0.3)
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited with {process.returncode}: {log.read_text()}")
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGQUIT)  # graceful: finish what is in flight
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
