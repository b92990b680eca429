"""Record a board's event log as a JSONL fixture for tests/boards/test_fixtures.py.

    COLLAB_DATABASE_URL=sqlite+aiosqlite:///data/collab.db \\
        .venv/bin/python scripts/record_fixture.py kanban:team tests/boards/fixtures/team.jsonl

Reads every stored event of the channel from the database a live server wrote (the server may be
running), and the board's state as the server loads it (latest snapshot + the events after it), and
writes:

    {"header": {"format": "collab-board-log", "version": 1, "channel": …, "kind": …, "recorded_at": …}}
    {"event": {"seq": 1, "type": …, "data": {…}, "user_id": …, "nickname": …, "op_id": …, "ts": …}}
    …
    {"final": {"seq": N, "state": {…}}}

The test replays the events through the projection and expects the recorded final state, so a change
to a reducer that would rebuild old boards differently fails it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.config import ConfigError, Settings  # noqa: E402
from collab.engine import PROJECTIONS  # noqa: E402
from collab.errors import NotFound  # noqa: E402
from collab.naming import channel_kind  # noqa: E402
from collab.projections.base import load_state  # noqa: E402
from collab.store.sql import SqlEventStore  # noqa: E402
from collab.timetext import wire_timestamp  # noqa: E402


async def collect(database_url: str, channel: str) -> list[dict]:
    """The fixture's lines: header, every event, the final state."""
    projection = PROJECTIONS.for_channel(channel)
    store = await SqlEventStore.open(database_url)
    try:
        loaded = await load_state(store, projection, channel)
        events = await store.read(channel, before=loaded.seq + 1)
    finally:
        await store.close()
    if not events:
        raise NotFound(f"{channel} has no events")
    if events[0].seq != 1:
        raise NotFound(f"{channel}'s events before seq {events[0].seq} were pruned: a fixture needs the whole log")
    lines = [
        {
            "header": {
                "format": "collab-board-log",
                "version": 1,
                "channel": channel,
                "kind": channel_kind(channel),
                "recorded_at": wire_timestamp(datetime.now(UTC)),
            }
        }
    ]
    for event in events:
        lines.append(
            {
                "event": {
                    "seq": event.seq,
                    "type": event.type,
                    "data": event.data,
                    "user_id": event.user_id,
                    "nickname": event.nickname,
                    "op_id": event.op_id,
                    "ts": wire_timestamp(event.created_at),
                }
            }
        )
    lines.append({"final": {"seq": loaded.seq, "state": loaded.state}})
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Record a board's event log as a JSONL test fixture.")
    parser.add_argument("channel", help="e.g. kanban:team or draw:sketch")
    parser.add_argument("out", type=Path, help="e.g. tests/boards/fixtures/team.jsonl")
    parser.add_argument("--database-url", help="default: COLLAB_DATABASE_URL (or the default data dir's SQLite)")
    args = parser.parse_args(argv)
    try:
        url = args.database_url or Settings.from_env().database_url
        lines = asyncio.run(collect(url, args.channel))
    except (ConfigError, NotFound) as error:
        print(f"record_fixture: {error}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(b"".join(orjson.dumps(line, option=orjson.OPT_SORT_KEYS) + b"\n" for line in lines))
    count = len(lines) - 2
    print(f"record_fixture: {count} events of {args.channel} written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
