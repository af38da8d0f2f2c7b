"""The judges' shared fixture: every page state of the inventory, fetched once per run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from offramp.config import Settings

from ..conftest import Backend
from .inventory import CapturedPage, collect_pages, page_settings


@pytest.fixture(scope="session")
def inventory_settings(backend: Backend, tmp_path_factory) -> Iterator[Settings]:
    """A database of the judges' own, kept for the whole run."""
    url = backend.fresh_url()
    yield page_settings(url, tmp_path_factory.mktemp("judges-data"))
    backend.drop(url)


@pytest.fixture(scope="session")
def captured_pages(inventory_settings: Settings) -> dict[str, CapturedPage]:
    """Every page state of the inventory as the app answered it, by name."""
    return collect_pages(inventory_settings)
