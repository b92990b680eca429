"""/api/openapi.json stays true: the app's routes and the spec's paths are the same, every `$ref`
resolves, and real answers of the operators' endpoints validate against the spec's schemas."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from support.auth import token
from support.openapi_schema import problems, refs, resolve
from support.operators import OPERATOR, seed
from support.ws import connect

from app.config import Settings
from app.factory import create_app
from app.openapi import spec

METHODS = {"get", "put", "post", "delete", "patch"}
# Paths described before their handlers exist (another engineer building them from the contract) go
# here, and only while no route of theirs exists; empty: everything described is routed.
PENDING: set[str] = set()


def routed(app: web.Application) -> set[tuple[str, str]]:
    found = set()
    for resource in app.router.resources():
        path = resource.canonical
        if isinstance(resource, web.StaticResource):
            path = path.rstrip("/") + "/{path}"
        for route in resource:
            if route.method.lower() in METHODS:
                found.add((path, route.method.lower()))
    return found


def described(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, method) for path, item in document["paths"].items() for method in item if method in METHODS}


def test_every_route_is_described_and_every_description_is_routed(tmp_path) -> None:
    app = create_app(Settings.from_env({"COLLAB_DATA_DIR": str(tmp_path)}))
    document = spec()
    routes, paths = routed(app), described(document)
    assert routes - paths == set(), "routes missing from app/openapi/"
    routed_paths = {path for path, _ in routes}
    unrouted = {(path, method) for path, method in paths - routes if path not in PENDING or path in routed_paths}
    assert unrouted == set(), "described in app/openapi/ but not routed"
    for ref in refs(document):
        resolve(document, {"$ref": ref})  # raises KeyError when it points nowhere
    for path, item in document["paths"].items():
        names = {p["name"] for p in item.get("parameters", [])}
        for method in METHODS & set(item):
            names |= {p["name"] for p in item[method].get("parameters", []) if p["in"] == "path"}
            assert item[method]["responses"], (path, method)
        assert {segment[1:-1] for segment in path.split("/") if segment.startswith("{")} <= names, path


def check(document: dict[str, Any], path: str, method: str, status: int, body: Any) -> None:
    response = document["paths"][path][method]["responses"][str(status)]
    schema = response["content"]["application/json"]["schema"]
    assert problems(document, schema, body) == [], (path, method, status, body)


async def test_answers_match_their_schemas(start) -> None:
    client = await start()
    document = await (await client.get("/api/openapi.json")).json()
    assert document == spec() and document["openapi"].startswith("3.1")
    ann = await connect(client, channel="lobby", token=token("ann", jti="ann-1"))
    await ann.send(type="create_room", name="club", private=True, members=["bob"])
    await ann.send(type="message", content="hello", id="1")
    await ann.send(type="publish", channel="lobby", event="poke", data=[1, {"a": None}])
    await ann.expect("event")
    await seed(client, "doc:notes", [{"type": "update", "blob": b"\x01\x02"}])

    async def get(path: str, template: str, status: int = 200, headers: Any = OPERATOR) -> Any:
        response = await client.get(path, headers=headers)
        assert response.status == status, await response.text()
        body = await response.json()
        check(document, template, "get", status, body)
        return body

    channels = await get("/api/channels", "/api/channels")
    assert {c["name"] for c in channels["channels"]} >= {"lobby", "club", "doc:notes"}
    page = await get("/api/channels/lobby/events?limit=1", "/api/channels/{channel}/events")
    assert page["next"] is not None
    await get(f"/api/channels/lobby/events?cursor={page['next']}", "/api/channels/{channel}/events")
    await get("/api/channels/doc:notes/events", "/api/channels/{channel}/events")
    await get("/api/channels/lobby/events", "/api/channels/{channel}/events", 401, headers={})
    await get(
        "/api/channels/lobby/events", "/api/channels/{channel}/events", 403, {"Authorization": "Bearer " + token("x")}
    )
    await get("/api/channels/lobby/events?limit=x", "/api/channels/{channel}/events", 400)
    await get("/api/channels/none/events", "/api/channels/{channel}/events", 404)
    await get("/api/channels/club/members", "/api/channels/{channel}/members")
    await get("/api/moderation/connections", "/api/moderation/connections")
    await get("/healthz", "/healthz", headers={})
    await get("/api/media", "/api/media", headers={})
    metrics = await client.get("/metrics")
    assert metrics.status == 200 and metrics.content_type == "text/plain"

    response = await client.post("/api/moderation/kick", json={"client_id": ann.client_id}, headers=OPERATOR)
    check(document, "/api/moderation/kick", "post", 200, await response.json())
    response = await client.post("/api/moderation/revoke", json={"user_id": "bob"}, headers=OPERATOR)
    check(document, "/api/moderation/revoke", "post", 200, await response.json())
    response = await client.delete("/api/channels/club/members/bob", headers=OPERATOR)
    check(document, "/api/channels/{channel}/members/{user}", "delete", 200, await response.json())
    response = await client.put("/api/channels/club/members/bob", headers=OPERATOR)
    check(document, "/api/channels/{channel}/members/{user}", "put", 200, await response.json())
    await get("/api/moderation/revocations", "/api/moderation/revocations")
    audit = await get("/api/channels/audit/events", "/api/channels/{channel}/events")
    assert [e["type"] for e in audit["events"]] == ["kick", "revoke", "member_removed", "member_added"]
