"""Settings: secrets are never silently per-process, and bad values say what is allowed."""

from __future__ import annotations

import stat

import pytest
from pydantic import ValidationError

from offramp.config import ConfigurationError, Settings


def test_development_key_is_generated_once_privately_and_reused(tmp_path):
    first = Settings(data_dir=tmp_path).with_secret_key()
    second = Settings(data_dir=tmp_path).with_secret_key()
    assert first.secret_key == second.secret_key and len(first.secret_key) >= 32
    mode = stat.S_IMODE((tmp_path / "secret_key").stat().st_mode)
    assert mode == 0o600


def test_production_without_a_key_refuses_to_start(tmp_path):
    with pytest.raises(ConfigurationError, match="OFFRAMP_SECRET_KEY"):
        Settings(env="production", data_dir=tmp_path).with_secret_key()
    assert not (tmp_path / "secret_key").exists()


def test_key_file_is_read(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("k" * 40 + "\n")
    settings = Settings(env="production", secret_key_file=key_file).with_secret_key()
    assert settings.secret_key == "k" * 40
    with pytest.raises(ConfigurationError, match="cannot be read"):
        Settings(secret_key_file=tmp_path / "missing").with_secret_key()


def test_environment_variables_are_read(monkeypatch, tmp_path):
    monkeypatch.setenv("OFFRAMP_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("OFFRAMP_PAGE_CACHE_SECONDS", "0")
    settings = Settings.load()
    assert settings.data_dir == tmp_path and settings.page_cache_seconds == 0
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'offramp.sqlite3'}"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("database_url", "mysql://x", "must start with sqlite:/// or postgresql://"),
        ("secret_key", "short", "at least 32 characters"),
        ("env", "staging", "development"),
        ("page_cache_seconds", -1, "greater than or equal to 0"),
    ],
)
def test_bad_values_name_the_field_and_what_is_allowed(field, value, message):
    with pytest.raises(ValidationError) as error:
        Settings(**{field: value})
    assert field in str(error.value) and message in str(error.value)
