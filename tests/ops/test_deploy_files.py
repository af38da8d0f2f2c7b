"""deploy/ without Docker: what can be checked here is checked.

The image and the compose file cannot be built on this machine (no Docker), so these
tests hold them to the code: every ``OFFRAMP_*`` variable they set is a setting with
a valid value, every command they run parses as a real ``offramp`` command, the
compose services are the ones described, the nginx configuration passes ``nginx -t``
and agrees with the app (body size, security headers, no logs), the systemd units
pass ``systemd-analyze verify`` and are hardened, and tor accepts the onion config.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from offramp.cli import build_parser
from offramp.config import Settings
from offramp.web import SECURITY_HEADERS

from .nginx import NGINX_DIR, ROOT, build_tree, nginx_test

DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE = DEPLOY / "compose.yaml"
SYSTEMD = DEPLOY / "systemd"
APP_SERVICES = ["app-1", "app-2", "app-3"]


def deploy_files() -> list[Path]:
    return sorted(path for path in DEPLOY.rglob("*") if path.is_file())


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def setting_name(variable: str) -> str:
    return variable.removeprefix("OFFRAMP_").lower()


def parse_command(argv: list[str]):
    """Parse ``argv`` the way ``offramp`` would; a failure is a test failure."""
    try:
        return build_parser().parse_args(argv)
    except SystemExit:
        pytest.fail(f"`offramp {shlex.join(argv)}` is not a valid command")


# -- settings ---------------------------------------------------------------------------


def test_every_offramp_variable_in_deploy_is_a_setting():
    used: dict[str, set[str]] = {}
    for path in deploy_files():
        for variable in re.findall(r"\bOFFRAMP_[A-Z0-9_]+\b", path.read_text()):
            used.setdefault(variable, set()).add(str(path.relative_to(ROOT)))
    assert len(used) >= 6, used
    unknown = {
        v: files for v, files in used.items() if setting_name(v) not in Settings.model_fields
    }
    assert not unknown, f"not settings in server/offramp/config.py: {unknown}"


def _settings_from(variables: dict[str, str]) -> Settings:
    return Settings(
        **{
            setting_name(name): value
            for name, value in variables.items()
            if name.startswith("OFFRAMP_")
        }
    )


def test_the_values_deploy_sets_are_valid_settings():
    app_environment = compose()["services"]["app-1"]["environment"]
    settings = _settings_from(app_environment)
    assert settings.is_production and not settings.is_sqlite and settings.redis_url
    env_file = SYSTEMD / "offramp.env"
    lines = [line for line in env_file.read_text().splitlines() if line and line[0] != "#"]
    vm = _settings_from(dict(line.split("=", 1) for line in lines))
    assert vm.is_production and vm.trusted_proxies == "127.0.0.1"


# -- the image --------------------------------------------------------------------------


def dockerfile_stages() -> list[tuple[str, list[str]]]:
    """(stage name, its instruction lines, continuation lines joined)."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    stages: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append((line.split()[-1], []))
        elif stages:
            stages[-1][1].append(line)
    return stages


def instruction(lines: list[str], name: str) -> list[str]:
    return [line[len(name) + 1 :] for line in lines if line.startswith(name + " ")]


def test_the_image_is_multi_stage_slim_and_unprivileged():
    stages = dict(dockerfile_stages())
    assert list(stages)[-1] == "app", "the default (last) stage must be the app"
    assert {"build", "proxy", "app"} <= set(stages)
    assert "ARG PYTHON_IMAGE=python:3.11-slim-bookworm" in DOCKERFILE.read_text()
    app = stages["app"]
    (user,) = instruction(app, "USER")
    assert user.split(":")[0] not in ("0", "root")
    assert instruction(app, "VOLUME") == ['["/data"]']
    assert any("OFFRAMP_DATA_DIR=/data" in line for line in instruction(app, "ENV"))
    final = " ".join(app)
    for tool in ("pip install", "build-essential", "gcc", "python3-dev"):
        assert tool not in final, f"the final image must not install or build ({tool})"
    assert "pip uninstall" in final
    assert any(line.startswith("--from=build /opt/offramp") for line in instruction(app, "COPY"))
    for source in re.findall(r"^COPY (?!--)(.+) \S+$", DOCKERFILE.read_text(), re.MULTILINE):
        for path in source.split():
            assert (ROOT / path).exists(), f"COPY names {path}, which is not in the repository"


def test_the_image_runs_a_real_command_and_checks_healthz():
    app = dict(dockerfile_stages())["app"]
    (entrypoint,) = instruction(app, "ENTRYPOINT")
    (command,) = instruction(app, "CMD")
    assert json.loads(entrypoint) == ["offramp"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["offramp"] == "offramp.cli:main"
    args = parse_command(json.loads(command))
    assert args.command == "serve" and args.no_migrate and args.host == "0.0.0.0"
    (healthcheck,) = instruction(app, "HEALTHCHECK")
    assert f"http://127.0.0.1:{args.port}/healthz" in healthcheck


# -- compose ----------------------------------------------------------------------------


def test_compose_runs_the_described_services():
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "migrate", "proxy", *APP_SERVICES}
    assert services["postgres"]["image"].startswith("postgres:15")
    assert parse_command(services["migrate"]["command"]).command == "migrate"
    assert services["migrate"]["restart"] == "no"
    for name in APP_SERVICES:
        app = services[name]
        assert "command" not in app, "apps run the image's command: serve --no-migrate"
        assert app["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert app["read_only"] is True and app["volumes"] == ["appdata:/data"]
    proxy = services["proxy"]
    assert "443:443" in proxy["ports"]
    assert proxy["build"]["target"] == "proxy"
    assert {name: dep["condition"] for name, dep in proxy["depends_on"].items()} == {
        name: "service_healthy" for name in APP_SERVICES
    }


def test_compose_redis_keeps_nothing_on_disk():
    redis = compose()["services"]["redis"]
    command = redis["command"]
    assert command[command.index("--save") + 1] == ""
    assert command[command.index("--appendonly") + 1] == "no"
    assert "volumes" not in redis
    assert "Persistence OFF" in COMPOSE.read_text()


def test_compose_secrets_come_from_files_and_volumes_are_named():
    document = compose()
    app = document["services"]["app-1"]
    key_file = app["environment"]["OFFRAMP_SECRET_KEY_FILE"]
    assert key_file.startswith("/run/secrets/")
    assert key_file.removeprefix("/run/secrets/") in app["secrets"]
    assert "OFFRAMP_SECRET_KEY" not in app["environment"]
    for name in app["secrets"]:
        assert "file" in document["secrets"][name]
    postgres = document["services"]["postgres"]
    assert "POSTGRES_PASSWORD" not in postgres["environment"]
    assert set(document["volumes"]) == {"pgdata", "appdata"}
    assert "pgdata:/var/lib/postgresql/data" in postgres["volumes"]


def test_compose_proxy_is_the_only_trusted_address_and_upstreams_match():
    services = compose()["services"]
    proxy_address = services["proxy"]["networks"]["web"]["ipv4_address"]
    addresses = [services[name]["networks"]["web"]["ipv4_address"] for name in APP_SERVICES]
    for name in APP_SERVICES:
        assert services[name]["environment"]["OFFRAMP_TRUSTED_PROXIES"] == proxy_address
    upstream = (NGINX_DIR / "upstream-compose.conf").read_text()
    assert re.findall(r"server ([\d.]+):8000", upstream) == addresses
    networks = compose()["networks"]
    assert networks["web"]["internal"] and networks["backend"]["internal"]


# -- nginx ------------------------------------------------------------------------------


@pytest.mark.parametrize("upstream_file", ["upstream-vm.conf", "upstream-compose.conf"])
def test_nginx_accepts_the_configuration(tmp_path: Path, upstream_file: str):
    config = build_tree(tmp_path, upstream_file=upstream_file)
    checked = nginx_test(config)
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr


def nginx_text() -> str:
    return "\n".join(path.read_text() for path in sorted(NGINX_DIR.glob("*.conf")))


def test_nginx_logs_no_addresses_or_user_agents():
    text = nginx_text()
    assert re.findall(r"^\s*access_log\s+(.*);", text, re.MULTILINE) == ["off"]
    assert re.findall(r"^\s*error_log\s+(.*);", text, re.MULTILINE) == ["stderr emerg"]
    assert "log_format" not in text


def test_nginx_body_limit_is_the_apps():
    (limit,) = re.findall(r"client_max_body_size (\d+)k;", nginx_text())
    assert int(limit) * 1024 == Settings.model_fields["max_request_bytes"].default
    (buffer,) = re.findall(r"client_body_buffer_size (\d+)k;", nginx_text())
    assert buffer == limit, "bodies up to the limit must stay in memory, never in a temp file"


def test_nginx_static_files_carry_the_apps_security_headers():
    locations = (NGINX_DIR / "locations.conf").read_text()
    static = locations.split("location /static/ {", 1)[1].split("}", 1)[0]
    headers = dict(re.findall(r'add_header ([\w-]+) "([^"]*)" always;', static))
    assert {name.lower(): value for name, value in headers.items()} == SECURITY_HEADERS


def test_nginx_sets_forwarded_for_and_retries_only_idempotent_requests():
    locations = (NGINX_DIR / "locations.conf").read_text()
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in locations
    assert "proxy_next_upstream error timeout" in locations
    assert "non_idempotent" not in re.sub(r"#.*", "", locations)


# -- systemd and tor --------------------------------------------------------------------


HARDENING = {
    "DynamicUser": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "NoNewPrivileges": "yes",
    "CapabilityBoundingSet": "",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    "SystemCallFilter": "@system-service",
    "UMask": "0077",
}


def unit_settings(path: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key, []).append(value)
    return found


@pytest.mark.parametrize("unit", sorted(path.name for path in SYSTEMD.glob("*.service")))
def test_systemd_services_are_hardened_and_run_real_commands(unit: str):
    settings = unit_settings(SYSTEMD / unit)
    for key, value in HARDENING.items():
        assert value in settings.get(key, []), f"{unit}: {key}={value}"
    for command in settings["ExecStart"]:
        words = shlex.split(command.replace("%i", "8001").replace("%%", "%"))
        if words[:2] == ["/bin/sh", "-c"]:
            words = shlex.split(words[2].removeprefix("exec "))
        assert words[0] == "/opt/offramp/bin/offramp", command
        parse_command(words[1:])
    assert "OFFRAMP_SECRET_KEY_FILE=%d/secret_key" in settings["Environment"]


def test_systemd_analyze_verifies_the_units(tmp_path: Path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    offramp = str(Path(sys.executable).with_name("offramp"))
    units = []
    for path in sorted(SYSTEMD.iterdir()):
        text = path.read_text().replace("/opt/offramp/bin/offramp", offramp)
        text = text.replace("/etc/offramp/offramp.env", str(SYSTEMD / "offramp.env"))
        name = path.name.replace("@.", "@8001.")
        (tmp_path / name).write_text(text)
        if not name.endswith(".env"):
            units.append(str(tmp_path / name))
    checked = subprocess.run(
        [analyze, "verify", "--man=no", *units], capture_output=True, text=True, timeout=60
    )
    problems = [line for line in checked.stderr.splitlines() if str(tmp_path) in line]
    assert checked.returncode == 0 and not problems, checked.stderr


def test_tor_accepts_the_onion_service_configuration(tmp_path: Path):
    tor = shutil.which("tor")
    if tor is None:
        message = "tor is not installed (Debian: apt-get install tor; .ci/run does this)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    text = (DEPLOY / "tor" / "torrc").read_text()
    assert "HiddenServicePort 80 127.0.0.1:8080" in text
    assert "listen 127.0.0.1:8080;" in (NGINX_DIR / "onion.conf").read_text()
    config = tmp_path / "torrc"
    config.write_text(
        text.replace("/var/lib/tor/offramp/", f"{tmp_path}/hidden/")
        + f"\nDataDirectory {tmp_path}/data\n"
    )
    checked = subprocess.run(
        [tor, "--verify-config", "-f", str(config)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0 and "Configuration was valid" in checked.stdout, checked.stdout
