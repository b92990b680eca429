"""The history API: who may read, what an event looks like, filters, pages, exports, the channel list."""

from __future__ import annotations

import base64
import csv
import io
from datetime import UTC, datetime, timedelta

import orjson
from aiohttp import FormData
from support.auth import token
from support.images import png
from support.operators import ADMIN, OPERATOR, bearer, iso, seed
from support.ws import connect

EVENTS = "/api/channels/{}/events"


async def test_who_may_read(start) -> None:
    client = await start()
    await seed(client, "general", [{"type": "message", "data": {"content": "hi"}, "user": "ann"}])
    await seed(client, "dm:ann:bob", [{"type": "private", "data": {"content": "psst", "to": "bob"}, "user": "ann"}])
    cases = {
        "no token": ({}, 401),
        "not a bearer": ({"Authorization": "Basic b3A6b3A="}, 401),
        "garbage": ({"Authorization": "Bearer not.a.jwt"}, 401),
        "expired": ({"Authorization": f"Bearer {token('op', roles=['operator'], ttl=-3600)}"}, 401),
        "wrong key": (
            {
                "Authorization": "Bearer "
                + __import__("jwt").encode(
                    {"sub": "op", "roles": ["operator"], "exp": 2**33}, "x" * 40, algorithm="HS256"
                )
            },
            401,
        ),
        "no role": (bearer("ann", roles=[]), 403),
        "readonly": (bearer("ann", roles=["readonly"]), 403),
        "operator": (OPERATOR, 200),
        "admin": (ADMIN, 200),
    }
    for path in ("/api/channels", EVENTS.format("general")):
        for case, (headers, status) in cases.items():
            response = await client.get(path, headers=headers)
            assert response.status == status, (path, case, await response.text())
            body = await response.json()
            if status == 401:
                assert body["error"] == "unauthorized" and response.headers["WWW-Authenticate"].startswith("Bearer")
            elif status == 403:
                assert body["error"] == "forbidden"
    # A guest's token is a valid token without roles.
    guest = await connect(client, nickname="gus")
    response = await client.get("/api/channels", headers={"Authorization": f"Bearer {guest.welcome['token']}"})
    assert response.status == 403
    # Direct messages: admins only, in the list and in the events.
    dm = EVENTS.format("dm:ann:bob")
    assert (await client.get(dm, headers=OPERATOR)).status == 403
    assert [e["content"] for e in (await (await client.get(dm, headers=ADMIN)).json())["events"]] == ["psst"]
    names = {c["name"] for c in (await (await client.get("/api/channels", headers=OPERATOR)).json())["channels"]}
    assert "dm:ann:bob" not in names and "general" in names
    names = {c["name"] for c in (await (await client.get("/api/channels", headers=ADMIN)).json())["channels"]}
    assert "dm:ann:bob" in names


async def test_events_have_the_fields_they_had_on_the_socket(start) -> None:
    client = await start()
    ann = await connect(client, channel="lobby", token=token("ann", name="Ann"))
    await ann.send(type="message", content="hello", id="m1")
    await ann.send(type="publish", channel="lobby", event="poke", data={"n": 1}, id="p1")
    await ann.send(type="message", content="again")
    live = [await ann.expect("message", id="m1"), await ann.expect("event", id="p1"), await ann.expect("message")]
    doc = await seed(client, "doc:notes", [{"type": "update", "blob": b"\x00\x01binary\xff", "user": "ann"}])

    response = await client.get(EVENTS.format("lobby"), headers=OPERATOR)
    assert response.status == 200 and response.content_type == "application/json"
    page = await response.json()
    assert page["channel"] == "lobby" and page["head"] == 3 and page["next"] is None
    assert page["events"] == live
    event = page["events"][0]
    assert {k: event[k] for k in ("seq", "type", "channel", "user_id", "nickname", "content", "id")} == {
        "seq": 1,
        "type": "message",
        "channel": "lobby",
        "user_id": "ann",
        "nickname": "Ann",
        "content": "hello",
        "id": "m1",
    }
    assert datetime.fromisoformat(event["ts"]) <= datetime.now(UTC)
    # A document's binary update comes as base64.
    page = await (await client.get(EVENTS.format("doc:notes"), headers=OPERATOR)).json()
    assert [(e["seq"], e["blob"]) for e in page["events"]] == [(doc[0], "AAFiaW5hcnn/")]
    # An unknown channel is 404; a bad name, an unknown parameter, a bad value are 400.
    assert (await client.get(EVENTS.format("nowhere"), headers=OPERATOR)).status == 404
    for query in (
        "?after=-1",
        "?limit=0",
        "?since=yesterday",
        "?format=xml",
        "?users=ann",
        "?cursor=zzz",
        "?after=1&after=2",
        "?text=%22unclosed",
        "?text=in*voice",
        "?text=ab*",
        "?text=...",
        "?user=a%00",
    ):
        response = await client.get(EVENTS.format("lobby") + query, headers=OPERATOR)
        assert response.status == 400, (query, await response.text())
        assert (await response.json())["error"] == "bad_request"
    assert (await client.get(EVENTS.format("bad%20name"), headers=OPERATOR)).status == 400
    # A search the search box's language refuses says what is wrong.
    refused = await client.get(EVENTS.format("lobby") + "?text=%22late%20invoice", headers=OPERATOR)
    assert (await refused.json())["message"] == "'text': the quote at character 1 is not closed"


async def test_filters(start) -> None:
    client = await start()
    t0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    items = []
    for i in range(30):
        user = ("ann", "bob", "cyd")[i % 3]
        kind = "event" if i % 5 == 4 else "message"
        data = {"event": "poke", "data": i} if kind == "event" else {"content": f"note {i} from {user.upper()}"}
        items.append({"type": kind, "data": data, "user": user, "at": t0 + timedelta(minutes=i)})
    items.append(
        {"type": "message", "data": {"content": "100% literal_under"}, "user": "ann", "at": t0 + timedelta(hours=1)}
    )
    await seed(client, "room", items)

    async def seqs(query: str) -> list[int]:
        response = await client.get(EVENTS.format("room") + "?" + query, headers=OPERATOR)
        assert response.status == 200, (query, await response.text())
        return [e["seq"] for e in (await response.json())["events"]]

    everything = list(range(1, 32))
    assert await seqs("limit=1000") == everything
    assert await seqs("") == everything  # the default page (100) holds them all
    assert await seqs("after=25") == [26, 27, 28, 29, 30, 31]
    assert await seqs("before=4") == [1, 2, 3]
    assert await seqs("after=2&before=6") == [3, 4, 5]
    assert await seqs("type=event") == [5, 10, 15, 20, 25, 30]
    assert await seqs("type=event,message&limit=500") == everything
    assert await seqs("user=bob") == [s for s in everything[:30] if (s - 1) % 3 == 1]
    assert await seqs("user=bob&user=cyd&type=event") == [5, 15, 20, 30]
    assert await seqs(f"since={iso(t0 + timedelta(minutes=28))}") == [29, 30, 31]
    assert await seqs(f"until={iso(t0 + timedelta(minutes=2))}") == [1, 2]
    # No zone means UTC; an offset is honoured.
    assert await seqs("since=2026-01-01T12:28:00") == [29, 30, 31]
    assert await seqs("since=2026-01-01T13:28:00%2B01:00&until=2026-01-01T12:30:00Z") == [29, 30]
    # Ages count back from now: everything here is older than a day.
    assert await seqs("since=1d") == []
    assert await seqs("until=1d") == everything
    # Text: the search box's words, "phrases" and prefix*, in what users typed, case-insensitive.
    assert await seqs("text=FROM%20bob") == [s for s in everything[:30] if (s - 1) % 3 == 1 and s % 5]
    assert await seqs("text=note%201") == [2]  # the words `note` and `1`: not `10`
    assert await seqs("text=%221%20from%22") == [2]  # a phrase
    assert await seqs("text=%221%20fro%22*") == [2]  # its last word a prefix
    assert await seqs("text=100%25") == [31]  # `%` separates words, as any punctuation
    assert await seqs("text=e_a") == []  # the phrase `e a`
    assert await seqs("text=_under") == [31]  # `literal_under` is two words
    assert await seqs("text=poke") == []  # a published event's name is not typed text (its data, a number here)
    assert await seqs("text=note&user=ann&since=2026-01-01T12:10:00Z&type=message") == [13, 16, 19, 22, 28]
    assert await seqs("limit=4&user=ann&after=3") == [4, 7, 10, 13]


async def test_pages_walk_everything_once(start) -> None:
    client = await start()
    await seed(
        client,
        "busy",
        [{"type": "message", "data": {"content": f"m{i}"}, "user": ("ann", "bob")[i % 2]} for i in range(250)],
    )
    wanted = [seq for seq in range(1, 251) if seq % 2 == 0]  # bob's

    async def walk(first_query: str, repeat: bool) -> list[int]:
        seen: list[int] = []
        query = first_query
        pages = 0
        while True:
            response = await client.get(EVENTS.format("busy") + "?" + query, headers=OPERATOR)
            assert response.status == 200, await response.text()
            page = await response.json()
            assert len(page["events"]) <= 7
            seen += [e["seq"] for e in page["events"]]
            pages += 1
            if page["next"] is None:
                return seen
            assert page["events"], "a page with a next cursor is never empty"
            query = (first_query + "&" if repeat else "limit=7&") + f"cursor={page['next']}"
            assert pages < 100

    for repeat in (False, True):
        seen = await walk("user=bob&limit=7", repeat)
        assert seen == wanted  # in order, no duplicate, none missing
    # Ages move with the clock; the cursor keeps the time they meant on the first page.
    assert await walk("since=1h&text=M10*&limit=4", True) == [11, *range(101, 111)]
    # Exactly full last page: next is null as soon as nothing more matches.
    page = await (await client.get(EVENTS.format("busy") + "?after=243&limit=7", headers=OPERATOR)).json()
    assert [e["seq"] for e in page["events"]] == list(range(244, 251)) and page["next"] is None
    # A cursor belongs to its query and its channel.
    first = await (await client.get(EVENTS.format("busy") + "?user=bob&limit=7", headers=OPERATOR)).json()
    cursor = first["next"]
    for query in (f"user=ann&cursor={cursor}", f"type=event&cursor={cursor}", f"after=5&cursor={cursor}"):
        response = await client.get(EVENTS.format("busy") + "?" + query, headers=OPERATOR)
        assert response.status == 400, query
    forged = {"v": 1, "c": "busy", "s": 3, "a": 0, "f": ["1; drop", None, None, [], [], None]}
    forged_cursor = base64.urlsafe_b64encode(orjson.dumps(forged)).decode()
    assert (await client.get(EVENTS.format("busy") + f"?cursor={forged_cursor}", headers=OPERATOR)).status == 400
    await seed(client, "other", [{"type": "message", "data": {"content": "x"}}])
    assert (await client.get(EVENTS.format("other") + f"?cursor={cursor}", headers=OPERATOR)).status == 400
    # Events appended after the last page are found by a later look from the last seq seen.
    await seed(client, "busy", [{"type": "message", "data": {"content": "late"}, "user": "bob"}])
    page = await (await client.get(EVENTS.format("busy") + "?user=bob&after=250", headers=OPERATOR)).json()
    assert [e["content"] for e in page["events"]] == ["late"]


async def test_exports_stream_jsonl_and_csv(start) -> None:
    client = await start()
    tricky = 'comma, "quotes"\nand a newline'
    items = [{"type": "message", "data": {"content": f"line {i}"}, "user": "ann", "id": f"op{i}"} for i in range(2500)]
    items[7]["data"] = {"content": tricky}
    items[8] = {"type": "event", "data": {"event": "poke", "data": {"x": [1, 2]}}, "user": "bob"}
    await seed(client, "big", items)
    pages = []
    query = "limit=1000"
    while query:
        page = await (await client.get(EVENTS.format("big") + "?" + query, headers=OPERATOR)).json()
        pages += page["events"]
        query = f"limit=1000&cursor={page['next']}" if page["next"] else ""
    assert len(pages) == 2500

    response = await client.get(EVENTS.format("big") + "?format=jsonl", headers=OPERATOR)
    assert response.status == 200 and response.content_type == "application/x-ndjson"
    assert response.headers.get("Transfer-Encoding") == "chunked"  # streamed, no Content-Length
    assert "big.jsonl" in response.headers["Content-Disposition"]
    text = await response.text()
    lines = text.splitlines()
    assert [orjson.loads(line) for line in lines] == pages

    response = await client.get(EVENTS.format("big") + "?format=csv", headers=OPERATOR)
    assert response.status == 200 and response.content_type == "text/csv"
    assert response.headers.get("Transfer-Encoding") == "chunked"
    rows = list(csv.reader(io.StringIO(await response.text())))
    assert rows[0] == ["seq", "ts", "channel", "type", "user_id", "nickname", "id", "content", "extra"]
    assert len(rows) == 2501
    assert rows[1][:8] == ["1", pages[0]["ts"], "big", "message", "ann", "ann", "op0", "line 0"]
    assert rows[1][8] == ""
    assert rows[8][7] == tricky
    assert rows[9][3] == "event" and orjson.loads(rows[9][8]) == {"event": "poke", "data": {"x": [1, 2]}}

    # Filters and a cap apply to exports as to pages.
    response = await client.get(EVENTS.format("big") + "?format=jsonl&user=bob", headers=OPERATOR)
    assert [orjson.loads(line)["seq"] for line in (await response.text()).splitlines()] == [9]
    response = await client.get(EVENTS.format("big") + "?format=jsonl&after=100&limit=1500", headers=OPERATOR)
    exported = [orjson.loads(line)["seq"] for line in (await response.text()).splitlines()]
    assert exported == list(range(101, 1601))
    # Who may export: as for pages.
    assert (await client.get(EVENTS.format("big") + "?format=csv")).status == 401
    assert (await client.get(EVENTS.format("big") + "?format=csv", headers=bearer("x", roles=[]))).status == 403


async def test_channel_list(start) -> None:
    client = await start()
    ann = await connect(client, channel="lobby", token=token("ann"))
    await ann.send(type="create_room", name="secret", private=True, members=["bob"])
    await ann.expect("rooms")
    await ann.send(type="message", content="one", id="1")
    await ann.expect("message", id="1")
    await seed(client, "kanban:team", [{"type": "column_added", "data": {"column": "c", "title": "T", "rank": "m"}}])
    body = await (await client.get("/api/channels", headers=OPERATOR)).json()
    channels = {c["name"]: c for c in body["channels"]}
    assert [c["name"] for c in body["channels"]] == sorted(channels)
    lobby = channels["lobby"]
    assert (lobby["kind"], lobby["private"], lobby["head"], lobby["first_seq"], lobby["events"]) == (
        "chat",
        False,
        1,
        1,
        1,
    )
    assert lobby["connections"] == 1 and lobby["last_event_at"] is not None
    secret = channels["secret"]
    assert (secret["private"], secret["members"], secret["head"], secret["events"], secret["first_seq"]) == (
        True,
        2,
        0,
        0,
        None,
    )
    assert channels["kanban:team"]["kind"] == "kanban" and channels["kanban:team"]["events"] == 1
    only = await (await client.get("/api/channels?kind=kanban", headers=OPERATOR)).json()
    assert [c["name"] for c in only["channels"]] == ["kanban:team"]
    assert (await client.get("/api/channels?sort=name", headers=OPERATOR)).status == 400


async def test_text_finds_what_users_typed_anywhere(start) -> None:
    """`text` covers messages' content, cards' and columns' titles, descriptions and labels, and media
    items' titles, descriptions and tags — as each reached the log by its own path."""
    client = await start()
    ann = await connect(client, channel="kanban:plan", token=token("ann", name="Ann"))
    await ann.send(type="column_add", column="todo", title="Backlog Zebra", id="c1")
    await ann.expect("column_added", id="c1")
    await ann.send(
        type="card_add", column="todo", card="k1", title="Fix the Quokka", description="about 100% of it", id="k1"
    )
    await ann.expect("card_added", id="k1")
    await ann.send(type="card_edit", card="k1", description="the Wombat part", labels=["urgent", 'say "hi"'], id="k2")
    await ann.expect("card_edited", id="k2")
    await ann.send(type="publish", channel="kanban:plan", event="quokka", data={"n": 1}, id="p1")
    await ann.expect("event", id="p1")
    await ann.send(type="publish", channel="kanban:plan", event="note", data={"by": ["Kangaroo"], "n": 2}, id="p2")
    await ann.expect("event", id="p2")
    data = FormData()
    data.add_field("title", "Sunset over Oslo")
    data.add_field("description", "taken by the Fjord")
    data.add_field("tags", "holiday,Ærøskøbing")
    data.add_field("file", io.BytesIO(png()), filename="p.png", content_type="application/octet-stream")
    uploaded = await client.post("/api/media", data=data, headers=bearer("ann", roles=[]))
    assert uploaded.status == 201, await uploaded.text()

    async def found(channel: str, text: str) -> list[str]:
        response = await client.get(EVENTS.format(channel), params={"text": text}, headers=OPERATOR)
        assert response.status == 200, await response.text()
        return [e["type"] for e in (await response.json())["events"]]

    assert await found("kanban:plan", "zebra") == ["column_added"]
    assert await found("kanban:plan", "QUOKKA") == ["card_added"]  # not the publish named "quokka"
    assert await found("kanban:plan", "wombat") == ["card_edited"]
    assert await found("kanban:plan", "100%") == ["card_added"]
    assert await found("kanban:plan", "urgent") == ["card_edited"]
    assert await found("kanban:plan", 'say "hi"') == ["card_edited"]
    assert await found("kanban:plan", "todo") == []  # an id, not typed text
    assert await found("kanban:plan", "kangaroo") == ["event"]  # text in a published event's data
    assert await found("media", "oslo") == ["new_media"]
    assert await found("media", "fjord") == ["new_media"]
    assert await found("media", "holiday") == ["new_media"]
    assert await found("media", "Ærøskøbing".lower()) == ["new_media"]
    assert await found("media", "image/png") == []  # the type is not typed text
    item = (await uploaded.json())["id"]
    changed = await client.put(f"/api/media/{item}", json={"tags": ["bergen"]}, headers=bearer("ann", roles=[]))
    assert changed.status == 200, await changed.text()
    assert await found("media", "BERGEN") == ["media_updated"]
    assert await found("media", "oslo") == ["new_media", "media_updated"]  # its title, unchanged, is in both
