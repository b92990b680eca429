"""`GET /api/events`: operators' search across channels, newest first, with snippets, pages and exports;
direct messages for admins only."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import orjson
from support.operators import ADMIN, OPERATOR, bearer, iso, seed

SEARCH = "/api/events"
TUESDAY = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


async def seed_world(client) -> None:  # type: ignore[no-untyped-def]
    await seed(
        client,
        "general",
        [
            {"data": {"content": "The late invoice from ACME"}, "user": "ann", "at": TUESDAY},
            {"data": {"content": "lunch?"}, "user": "bob", "at": TUESDAY + timedelta(hours=2)},
            {"data": {"content": "Invoice paid, finally"}, "user": "ann", "at": TUESDAY + timedelta(days=1)},
        ],
    )
    await seed(
        client,
        "kanban:ops",
        [
            {
                "type": "card_added",
                "data": {"card": "k1", "title": "Chase invoice", "labels": ["billing"]},
                "user": "bob",
            },
            {"type": "card_moved", "data": {"card": "k1", "column": "done"}, "user": "bob"},
        ],
    )
    await seed(
        client,
        "dm:ann:bob",
        [{"type": "private", "data": {"content": "the invoice is a mess", "to": "bob"}, "user": "ann", "at": TUESDAY}],
    )
    await seed(
        client, "news", [{"type": "event", "data": {"event": "bill", "data": {"note": "Invoice #12"}}, "user": "svc"}]
    )


async def search(client, query: str, headers=OPERATOR, status: int = 200):  # type: ignore[no-untyped-def]
    response = await client.get(SEARCH + "?" + query, headers=headers)
    assert response.status == status, (query, await response.text())
    return await response.json()


def places(page) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    return [(hit["channel"], hit["seq"]) for hit in page["events"]]


async def test_a_word_anywhere_newest_first_with_snippets(start) -> None:
    client = await start()
    await seed_world(client)

    page = await search(client, "text=invoice")
    assert places(page) == [("news", 1), ("kanban:ops", 1), ("general", 3), ("general", 1)]  # no DM: operator
    assert page["next"] is None
    first = page["events"][-1]
    assert first["type"] == "message" and first["content"] == "The late invoice from ACME"
    assert first["user_id"] == "ann" and first["ts"].startswith("2026-11-24T09:00:00")
    assert first["snippet"] == ["The late ", "invoice", " from ACME"]
    assert page["events"][0]["snippet"] == ["", "Invoice", " #12"]
    assert page["events"][1]["snippet"] == ["Chase ", "invoice", " billing"]

    admin = await search(client, "text=invoice", headers=ADMIN)
    assert ("dm:ann:bob", 1) in places(admin)
    assert places(await search(client, "text=INVOICE%20late")) == [("general", 1)]
    assert places(await search(client, "text=%22late%20invoice%22&channel=general,news")) == [("general", 1)]
    assert places(await search(client, "text=invo*&type=card_added")) == [("kanban:ops", 1)]
    assert places(await search(client, "text=nothing")) == []


async def test_what_a_user_wrote_anywhere_on_a_day(start) -> None:
    client = await start()
    await seed_world(client)
    day = f"since={iso(TUESDAY)}&until={iso(TUESDAY + timedelta(days=1))}"

    assert places(await search(client, f"user=ann&{day}")) == [("general", 1)]
    assert places(await search(client, f"user=ann&{day}", headers=ADMIN)) == [("dm:ann:bob", 1), ("general", 1)]
    assert places(await search(client, "user=ann,bob&since=2026-11-24T10:00:00Z")) == [
        ("kanban:ops", 1),
        ("general", 3),
        ("general", 2),
    ]
    # Without text the snippet is the start of what was typed, nothing marked.
    assert (await search(client, f"user=bob&{day}"))["events"][0]["snippet"] == ["lunch?"]
    # Events without typed text are not in the index: a card's move is not found.
    assert places(await search(client, "channel=kanban:ops")) == [("kanban:ops", 1)]


async def test_pages_and_cursors(start) -> None:
    client = await start()
    await seed(client, "a", [{"data": {"content": f"note {n}"}, "user": "ann"} for n in range(5)])
    await seed(client, "b", [{"data": {"content": f"note {n}"}, "user": "bob"} for n in range(5)])

    seen: list[tuple[str, int]] = []
    query = "text=note&limit=3"
    while True:
        page = await search(client, query)
        seen += places(page)
        if page["next"] is None:
            break
        query = f"cursor={page['next']}" if len(seen) < 6 else f"text=note&limit=3&cursor={page['next']}"
    assert seen == [("b", n) for n in range(5, 0, -1)] + [("a", n) for n in range(5, 0, -1)]

    first = await search(client, "text=note&limit=2")
    for query in (f"text=other&cursor={first['next']}", f"user=ann&cursor={first['next']}"):
        refused = await search(client, query, status=400)
        assert "another query" in refused["message"]
    forged = await search(client, "cursor=eyJ2IjoxfQ", status=400)
    assert forged["message"] == "'cursor' is not a cursor this server gave out"


async def test_bad_requests_say_what_is_wrong(start) -> None:
    client = await start()
    for query, message in (
        ("text=%22late", "'text': the quote at character 1 is not closed"),
        ("text=in*voice", "'text': '*' marks a prefix and goes once at the end of a word (invo*), not 'in*voice'"),
        ("text=a*", "'text': a prefix needs at least 3 letters or digits before its '*', not 'a'"),
        ("text=!!!", "'text': no word to search for (letters or digits)"),
        ("text=a&text=b", "'text' is given more than once"),
        ("since=yesterday", "'since' must be an ISO 8601 time (2026-11-28T09:30:00Z) or an age (24h)"),
        ("limit=0", "'limit' must be a whole number from 1 to 9223372036854775807"),
        ("channel=bad%20name", "channel names are 1-200 characters of letters, digits and . _ - : @"),
        ("format=xml", "'format' must be one of json, jsonl, csv"),
        ("sort=new", "unknown parameter 'sort'"),
        ("user=ann,b%00b", "'user' must not contain the character U+0000"),  # PostgreSQL would refuse it
        ("type=a%00", "'type' must not contain the character U+0000"),
    ):
        body = await search(client, query, status=400)
        assert body["error"] == "bad_request" and body["message"].startswith(message), (query, body)
    # A direct message's channel, named by an operator: 403, also for an export.
    for query in ("channel=dm:ann:bob", "channel=dm:ann:bob&format=csv"):
        assert (await search(client, query, status=403))["error"] == "forbidden"
    assert (await client.get(SEARCH, headers=bearer("ann", roles=[]))).status == 403
    assert (await client.get(SEARCH)).status == 401


async def test_exports(start) -> None:
    client = await start()
    await seed_world(client)

    response = await client.get(SEARCH + "?text=invoice&format=jsonl", headers=OPERATOR)
    assert response.status == 200 and response.content_type == "application/x-ndjson"
    assert response.headers["Content-Disposition"] == 'attachment; filename="search.jsonl"'
    lines = [orjson.loads(line) for line in (await response.text()).splitlines()]
    assert [(line["channel"], line["seq"]) for line in lines] == [
        ("news", 1),
        ("kanban:ops", 1),
        ("general", 3),
        ("general", 1),
    ]
    assert lines[-1]["snippet"] == ["The late ", "invoice", " from ACME"]

    response = await client.get(SEARCH + "?text=invoice&format=csv&limit=2", headers=OPERATOR)
    assert response.status == 200 and response.content_type == "text/csv"
    rows = list(csv.reader(io.StringIO(await response.text())))
    assert rows[0] == ["seq", "ts", "channel", "type", "user_id", "nickname", "id", "content", "extra", "snippet"]
    assert [(row[2], row[0], row[9]) for row in rows[1:]] == [
        ("news", "1", "«Invoice» #12"),
        ("kanban:ops", "1", "Chase «invoice» billing"),
    ]
