"""A client generated from the OpenAPI document, by openapi-python-client, must work.

A third-party generator reads the document the app publishes and writes a typed
Python client; the test then starts a thread, reads it and edits it with its key
through that client alone. Whatever the generator cannot read, or reads wrongly
(types, nullable fields, status codes, the error body), fails here.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from litestar.testing import TestClient

from ..conftest import running_in_ci

PACKAGE = "offramp_client"


@pytest.fixture
def generated(client: TestClient, tmp_path: Path) -> Iterator[ModuleType]:
    """The client package generated from the app's document, imported."""
    if importlib.util.find_spec("openapi_python_client") is None:
        message = "openapi-python-client is not installed (pip install openapi-python-client)"
        if running_in_ci():
            pytest.fail(message)
        pytest.skip(message)
    document = tmp_path / "openapi.json"
    document.write_text(client.get("/schema/openapi.json").text, encoding="utf-8")
    # The generator formats its output with ruff, which it finds on PATH.
    tools = str(Path(sys.executable).parent)
    generator = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(document),
            "--output-path",
            str(tmp_path / PACKAGE),
            "--meta",
            "none",
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": os.pathsep.join([tools, os.environ.get("PATH", "")])},
        timeout=120,
    )
    assert generator.returncode == 0, generator.stdout + generator.stderr

    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name.partition(".")[0] == PACKAGE]:
            del sys.modules[name]


def test_generated_client_starts_reads_and_edits_a_thread(
    generated: ModuleType, client: TestClient
):
    create_thread, get_thread, edit_post = (
        importlib.import_module(f"{PACKAGE}.api.forum.{name}")
        for name in ("create_thread", "get_thread", "edit_post")
    )
    models = importlib.import_module(f"{PACKAGE}.models")
    api = generated.Client(base_url=str(client.base_url), raise_on_unexpected_status=True)
    api.set_httpx_client(client)  # the app in process, through httpx

    created = create_thread.sync(
        client=api,
        body=models.ThreadCreate(
            title="Generated clients work", category="interviews", body="First *post*."
        ),
    )
    assert isinstance(created, models.ThreadCreated), created
    assert created.post.author == "OP"
    assert created.thread.entity is None  # a nullable field, read as None

    page = get_thread.sync(created.thread.id, client=api)
    assert isinstance(page, models.ThreadPage), page
    assert page.thread.title == "Generated clients work"
    assert [post.id for post in page.posts] == [created.post.id]
    assert "<em>post</em>" in page.posts[0].body_html

    edited = edit_post.sync(
        created.post.id,
        client=api,
        body=models.PostUpdate(body="Edited.", title="Generated clients still work"),
        authorization=f"Bearer {created.edit_key}",
    )
    assert isinstance(edited, models.PostRead), edited
    assert edited.edited
    assert edited.body_html == "<p>Edited.</p>\n"

    refused = edit_post.sync(
        created.post.id,
        client=api,
        body=models.PostUpdate(body="Not yours."),
        authorization="Bearer not-the-key",
    )
    assert isinstance(refused, models.ErrorBody), refused
    assert refused.error.code == "forbidden"
    assert refused.error.field == "edit_key"

    reread = get_thread.sync(created.thread.id, client=api)
    assert reread.thread.title == "Generated clients still work"
