"""`GET /api/catalog` (issue 12, item 8): the boards and documents a user may open, most recently changed
first, for the index page; private ones to their members and admins only."""

from __future__ import annotations

from support.auth import SECRET, token

from app.keys import ENGINE
from collab.events import NewEvent


async def fill(client) -> None:
    """Boards and documents changed in this order: old board, document, private board, newest drawing (a
    drawing board's channel is `draw:<board>`, listed as kind `drawing`)."""
    store = client.app[ENGINE].store
    await store.create_channel("kanban:old", created_by="ann")
    await store.create_channel("doc:notes", created_by="ann")
    await store.create_channel("kanban:secret", created_by="ann", private=True, members=["ann"])
    await store.create_channel("draw:sketch", created_by="bob")
    await store.create_channel("lobby", created_by="bob")  # a chat room: not listed
    for channel in ("kanban:old", "doc:notes", "kanban:secret", "draw:sketch"):
        await store.append(NewEvent(channel, "note", {"x": 1}, user_id="ann"))


def names(body: dict) -> list[str]:
    return [item["channel"] for item in body["items"]]


async def test_boards_and_documents_most_recent_first_private_to_members(start) -> None:
    client = await start(allow_guests=True, jwt_secret=SECRET)
    await fill(client)
    ann = {"Authorization": f"Bearer {token('ann')}"}
    answer = await client.get("/api/catalog", headers=ann)
    assert answer.status == 200
    body = await answer.json()
    assert names(body) == ["draw:sketch", "kanban:secret", "doc:notes", "kanban:old"]
    first = body["items"][0]
    assert first["kind"] == "drawing" and first["name"] == "sketch" and first["private"] is False
    assert first["changed_at"].endswith("Z") or "+" in first["changed_at"]
    # Not a member: the private board is not listed; nor to nobody in particular.
    bob = {"Authorization": f"Bearer {token('bob')}"}
    assert names(await (await client.get("/api/catalog", headers=bob)).json()) == [
        "draw:sketch",
        "doc:notes",
        "kanban:old",
    ]
    assert "kanban:secret" not in names(await (await client.get("/api/catalog")).json())
    admin = {"Authorization": f"Bearer {token('root', roles=['admin'])}"}
    assert "kanban:secret" in names(await (await client.get("/api/catalog", headers=admin)).json())
    # By kind, and a limit.
    docs = await (await client.get("/api/catalog", params={"kind": "doc"}, headers=ann)).json()
    assert names(docs) == ["doc:notes"]
    boards = await (
        await client.get("/api/catalog", params={"kind": "kanban,drawing", "limit": "1"}, headers=ann)
    ).json()
    assert names(boards) == ["draw:sketch"]


async def test_bad_requests_and_tokens_are_refused(start) -> None:
    client = await start(allow_guests=False, jwt_secret=SECRET)
    assert (await client.get("/api/catalog")).status == 401  # guests off: a token is needed
    assert (await client.get("/api/catalog", headers={"Authorization": "Bearer not.a.jwt"})).status == 401
    ann = {"Authorization": f"Bearer {token('ann')}"}
    for params in ({"kind": "chat"}, {"limit": "0"}, {"limit": "x"}, {"limit": "1001"}, {"sort": "name"}):
        answer = await client.get("/api/catalog", params=params, headers=ann)
        assert answer.status == 400, params
        assert (await answer.json())["error"] == "bad_request"
    assert (await client.get("/api/catalog", headers=ann)).status == 200
