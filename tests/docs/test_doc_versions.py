"""The editor's reads of a document's history (`GET /api/docs/{name}/versions[/{seq}]`) for anyone who may
open the document, and the guest token a page without a socket `welcome` starts with (`POST /api/guests`)."""

from __future__ import annotations

from support.auth import token
from support.yjs import Changes, YClient

from app.keys import ENGINE


async def write(client, name: str, lines: list[str], **query: str) -> YClient:
    changes = Changes()
    peer = await YClient.open(client, name, changes, **query)
    before = client.app[ENGINE].documents.updates_stored
    for line in lines:
        await peer.insert(len(peer.text), line)
    documents = client.app[ENGINE].documents
    await changes.until(lambda: documents.updates_stored >= before + len(lines), "updates stored")
    return peer


async def test_any_user_who_may_open_a_document_reads_its_versions(start) -> None:
    client = await start()
    alice = await write(client, "plan", ["one\n", "two\n"], token=token("alice", name="Alice"))
    await write(client, "plan", ["three\n"], token=token("bob", name="Bob"))
    alice.doc.get("title", type=type(alice.text)).insert(0, "The plan")
    await alice.flush()
    documents = client.app[ENGINE].documents
    await alice.changes.until(lambda: documents.updates_stored >= 4, "the title stored")

    for who in (token("carol"), token("ro", roles=["readonly"]), token("op", roles=["operator"])):
        headers = {"Authorization": f"Bearer {who}"}
        answer = await client.get("/api/docs/plan/versions", headers=headers)
        assert answer.status == 200
        body = await answer.json()
        assert body["head"] == 4 and [v["seq"] for v in body["versions"]] == [1, 2, 3, 4]
        assert [v["user_id"] for v in body["versions"]] == ["alice", "alice", "bob", "alice"]
        assert [v["nickname"] for v in body["versions"]] == ["Alice", "Alice", "Bob", "Alice"]
        assert all(v["at"].endswith("+00:00") and v["bytes"] > 0 for v in body["versions"])

    headers = {"Authorization": f"Bearer {token('carol')}"}
    last_two = await (await client.get("/api/docs/plan/versions?limit=2", headers=headers)).json()
    assert [v["seq"] for v in last_two["versions"]] == [3, 4]
    two = await (await client.get("/api/docs/plan/versions/2", headers=headers)).json()
    assert two == {"name": "plan", "seq": 2, "text": "one\ntwo\n", "title": ""}
    now = await (await client.get("/api/docs/plan/versions/99", headers=headers)).json()
    assert now == {"name": "plan", "seq": 4, "text": "one\ntwo\nthree\n", "title": "The plan"}

    # A guest token reads too (guests may open every document).
    guest = await (await client.post("/api/guests", json={"nickname": "Gus"})).json()
    as_guest = {"Authorization": f"Bearer {guest['token']}"}
    assert (await client.get("/api/docs/plan/versions/1", headers=as_guest)).status == 200

    # Refusals, and nothing changes.
    assert (await client.get("/api/docs/plan/versions")).status == 401
    assert (await client.get("/api/docs/plan/versions/1")).status == 401
    bad = {"Authorization": "Bearer nonsense"}
    assert (await client.get("/api/docs/plan/versions", headers=bad)).status == 401
    assert (await client.get("/api/docs/nothing-here/versions", headers=headers)).status == 404
    assert (await client.get("/api/docs/nothing-here/versions/1", headers=headers)).status == 404
    for query in ("limit=0", "limit=5001", "limit=x", "limit=-1"):
        answer = await client.get(f"/api/docs/plan/versions?{query}", headers=headers)
        assert answer.status == 400 and "limit" in (await answer.json())["message"], query
    assert (await client.get("/api/docs/plan/versions/x", headers=headers)).status == 400
    assert (await client.get("/api/docs/bad%20name/versions", headers=headers)).status == 400
    assert (await client.app[ENGINE].store.head("doc:plan")) == 4


async def test_a_guest_token_from_http_brings_the_same_guest_back_on_the_document_socket(start) -> None:
    client = await start()
    answer = await client.post("/api/guests", json={"nickname": "Gus"})
    assert answer.status == 201
    guest = await answer.json()
    assert guest["user"]["name"] == "Gus" and guest["user"]["guest"] is True
    assert guest["user"]["id"].startswith("guest-")
    await write(client, "pad", ["a"], token=guest["token"])
    await write(client, "pad", ["b"], token=guest["token"])
    body = await (
        await client.get("/api/docs/pad/versions", headers={"Authorization": f"Bearer {guest['token']}"})
    ).json()
    assert {v["user_id"] for v in body["versions"]} == {guest["user"]["id"]}

    made_up = await (await client.post("/api/guests")).json()
    assert made_up["user"]["name"].startswith("guest-")
    for bad in (b"{", b"[]", b'{"nickname": 3}'):
        refused = await client.post("/api/guests", data=bad, headers={"Content-Type": "application/json"})
        assert refused.status == 400, bad


async def test_no_guest_tokens_where_guests_are_not_allowed(start) -> None:
    client = await start(allow_guests=False)
    answer = await client.post("/api/guests", json={"nickname": "Gus"})
    assert answer.status == 403 and (await answer.json())["error"] == "forbidden"
