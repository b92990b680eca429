"""The HTTP API fuzzed from its own description, `/api/openapi.json`, with schemathesis (issue 11): a real
`collab serve`, every operation called with generated and mutated parameters and bodies, as an admin and a
service (a token of a user of its own for each call, so that a generated revocation or kick hits that user
only).

Checks: no answer is a server error (500), and every answer is one the description lists, with the
content type and the body schema it gives (so the description stays true). `COLLAB_FUZZ_EXAMPLES` runs
more examples per operation.

The 500s this fuzzing found first in the history and document endpoints (a Unicode digit such as `²`
in `after`, `limit` or `at`, numbers ≥ 2^63, `since=9999999999d`) are fixed, and kept as explicit
cases in `test_once_500s_are_400s_that_name_their_parameter`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import given
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from support.auth import token
from support.fuzzing import BlockingSocket, fuzz_settings, unhandled_errors
from support.servers import ServerProcess

from app.openapi import spec

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path_factory.mktemp("fuzz-http"))
    process.start()
    try:
        yield process
    finally:
        process.stop()
    # Whatever the calls did, nothing escaped a handler.
    assert unhandled_errors(process.log) == []


# The description the server serves at /api/openapi.json, built in process to list the operations.
SCHEMA = schemathesis.openapi.from_dict(spec())
OPERATIONS = [
    (path, method.upper())
    for path, item in spec()["paths"].items()
    for method in item
    if method in ("get", "put", "post", "patch", "delete")
]


def admin_headers() -> dict[str, str]:
    # `service` too: the publish API's calls get through to its checks (an admin alone is refused there).
    return {"Authorization": f"Bearer {token(f'fuzz-{uuid.uuid4().hex[:8]}', roles=['admin', 'service'])}"}


def test_the_served_description_is_the_one_fuzzed(server: ServerProcess) -> None:
    assert requests.get(f"{server.url}/api/openapi.json", timeout=10).json() == spec()


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_the_api_answers_every_request_as_described(server: ServerProcess, path: str, method: str) -> None:
    @fuzz_settings(25)
    @given(case=SCHEMA[path][method].as_strategy())
    def check(case: Any) -> None:
        case.call_and_validate(base_url=server.url, headers=admin_headers(), checks=CHECKS)

    check()


KNOWN = [
    "/api/channels/general/events?after=%C2%B2",
    "/api/channels/general/events?limit=%C2%B3",
    "/api/docs/notes?at=%C2%B2",
    "/api/channels/general/events?after=9223372036854775808",
    "/api/channels/general/events?since=9999999999d",
]


@pytest.fixture(scope="module")
def known_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of their own, with the channel the requests read."""
    process = ServerProcess(tmp_path_factory.mktemp("known-500s"))
    process.start()
    try:
        # The channel exists, so that the parameter is what the server trips on.
        BlockingSocket(process.url, channel="general").close()
        yield process
    finally:
        process.stop()


@pytest.mark.parametrize("path", KNOWN)
def test_once_500s_are_400s_that_name_their_parameter(known_server: ServerProcess, path: str) -> None:
    response = requests.get(f"{known_server.url}{path}", headers=admin_headers(), timeout=10)
    assert response.status_code == 400, (path, response.status_code, response.text[:200])
    parameter = path.split("?")[1].split("=")[0]
    assert parameter in response.json()["message"], response.text
