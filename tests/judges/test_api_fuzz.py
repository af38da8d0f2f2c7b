"""The JSON API fuzzed against its own contract, by schemathesis.

The judge knows nothing of Offramp but the OpenAPI document the server publishes at
``/schema/openapi.json``. From it, schemathesis generates requests for every
operation, valid and invalid ones, and checks every answer: no server error, a
documented status code, the documented content type, headers and body schema (for
errors, the body ``{"error": {"code", "message", "field"}}``), and invalid requests
rejected. A stateful run then follows the document's links, as a client would: start
a thread, read it, edit the post with the key the answer returned, delete it.

The server is a real ``offramp serve`` on loopback over a fresh database. The test
settings switch its rate limits off, so the fuzzer's writes are judged, not throttled.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from litestar.testing import TestClient
from schemathesis import GenerationMode

from offramp.config import Settings

from .servers import Server, running_server

EXAMPLES_PER_OPERATION = 40
STATEFUL_SCENARIOS = 40

# Every built-in check, except two that judge a different design than Offramp's.
CHECKS = {
    # "A schema-valid request must succeed." Offramp refuses some schema-valid input,
    # with a documented error answer that the other checks judge: categories and
    # entities that do not exist, cursors it did not issue, blank text, identifying
    # details not yet confirmed.
    "positive_data_acceptance": {"enabled": False},
    # "A deleted resource must be gone." A deleted post keeps its place in its thread
    # and still answers GET: status "deleted", its text erased (see README).
    "use_after_free": {"enabled": False},
}

HYPOTHESIS = hypothesis.settings(
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

# The operations a post lives through, which the stateful run links together.
LIFECYCLE = ["createThread", "getThread", "createReply", "getPost", "editPost", "deletePost"]


@pytest.fixture
def server(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # loopback, never through a proxy
    with running_server(settings, log_path=tmp_path / "server.log") as server:
        yield server


def published_document(server: Server) -> dict:
    """The OpenAPI document as the server publishes it, plus one rule it cannot state
    yet: request bodies take no fields beyond the declared ones (input models forbid
    them; the server answers 422). Litestar does not write ``additionalProperties:
    false``; once it does, this changes nothing."""
    document = httpx.get(f"{server.url}/schema/openapi.json").json()
    components = document["components"]["schemas"]
    for path in document["paths"].values():
        for operation in path.values():
            for content in operation.get("requestBody", {}).get("content", {}).values():
                body = content["schema"]
                if "$ref" in body:
                    body = components[body["$ref"].removeprefix("#/components/schemas/")]
                if body.get("type") == "object":
                    body.setdefault("additionalProperties", False)
    return document


@pytest.fixture
def api(server: Server) -> schemathesis.BaseSchema:
    """The API as the running server documents it."""
    config = schemathesis.Config.from_dict(
        {
            "base-url": server.url,
            "checks": CHECKS,
            "generation": {"mode": "positive"},
            # Stateful runs follow the document's own links, not links guessed from names.
            "phases": {"stateful": {"inference": {"algorithms": []}}},
        }
    )
    api = schemathesis.openapi.from_dict(published_document(server), config=config)
    slugs = [category["slug"] for category in httpx.get(f"{server.url}/api/v1/categories").json()]

    @api.hook
    def flatmap_body(context: schemathesis.HookContext, body: object) -> st.SearchStrategy:
        """New threads mostly go in a category that exists, one from GET
        /api/v1/categories as the document says: random words would only meet the 404."""
        if context.operation.label != "POST /api/v1/threads" or not (
            isinstance(body, dict) and isinstance(body.get("category"), str)
        ):
            return st.just(body)
        return st.sampled_from([*slugs, body["category"]]).map(
            lambda slug: {**body, "category": slug}
        )

    return api


def verdict(server: Server, failures: list[str]) -> str:
    """The failures found, with the end of the server's log (tracebacks of 500s)."""
    return "\n\n".join(failures) + f"\n\n--- server log (end) ---\n{server.log()[-4000:]}"


def test_every_error_answer_is_documented_with_the_error_body(client: TestClient):
    document = client.get("/schema/openapi.json").json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                if int(status) >= 400:
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (
                        f"{method.upper()} {path} {status}"
                    )


def test_undeclared_methods_answer_405_with_allow(client: TestClient):
    document = client.get("/schema/openapi.json").json()
    for path, operations in document["paths"].items():
        declared = {method.upper() for method in operations}
        for method in {"GET", "POST", "PUT", "PATCH", "DELETE"} - declared:
            answer = client.request(method, path.replace("{", "").replace("}", ""), json={})
            assert answer.status_code == 405, (method, path)
            allowed = {name.strip() for name in answer.headers["allow"].split(",")}
            assert declared <= allowed, (method, path)
            assert answer.json()["error"]["code"] == "method_not_allowed", (method, path)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_every_operation_keeps_the_contract(
    api: schemathesis.BaseSchema, server: Server, mode: GenerationMode
):
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= len(LIFECYCLE), [operation.label for operation in operations]
    failures = []
    for operation in operations:

        @hypothesis.settings(HYPOTHESIS, max_examples=EXAMPLES_PER_OPERATION)
        @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
        def answers_by_the_contract(case: schemathesis.Case) -> None:
            case.call_and_validate()

        try:
            answers_by_the_contract()
        except Unsatisfiable:
            # Nothing to make invalid: the operation takes no input at all.
            assert mode is GenerationMode.NEGATIVE, operation.label
        except (AssertionError, BaseExceptionGroup) as failure:
            failures.append(f"=== {operation.label} ({mode})\n{failure}")
    assert not failures, verdict(server, failures)


def test_links_lead_from_a_new_post_to_editing_and_deleting_it(
    api: schemathesis.BaseSchema, server: Server
):
    answered: set[tuple[str, int]] = set()
    components = api.raw_schema["components"]["schemas"]

    @api.hook
    def map_body(context: schemathesis.HookContext, body: object) -> object:
        """Only the required fields: the links are on trial here, and every optional
        field is one more way for a step to fail (the bodies are fuzzed above)."""
        if not isinstance(body, dict):
            return body
        content = context.operation.definition.raw["requestBody"]["content"]
        name = content["application/json"]["schema"]["$ref"].rpartition("/")[2]
        return {field: body[field] for field in components[name]["required"] if field in body}

    class Client(api.include(operation_id=LIFECYCLE).as_state_machine()):
        def after_call(self, response: schemathesis.Response, case: schemathesis.Case) -> None:
            super().after_call(response, case)
            answered.add((case.operation.definition.raw["operationId"], response.status_code))

    try:
        Client.run(
            settings=hypothesis.settings(
                HYPOTHESIS, max_examples=STATEFUL_SCENARIOS, stateful_step_count=6
            )
        )
    except (AssertionError, BaseExceptionGroup) as failure:
        pytest.fail(verdict(server, [str(failure)]))

    # The links were followed to the end, not only offered: every step succeeded.
    succeeded = {operation for operation, status in answered if status < 300}
    assert not set(LIFECYCLE) - succeeded, f"never succeeded: {set(LIFECYCLE) - succeeded}"
