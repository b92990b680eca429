"""A user's direct-message conversations (collab.chat.conversations over collab.store.conversations), on
both databases: whose they are, their order, their pages, and what each says."""

from __future__ import annotations

import pytest

from collab.chat.conversations import Conversations
from collab.chat.dm_names import dm_channel
from collab.errors import ProtocolError
from collab.events import NewEvent
from collab.store.base import EventStore
from collab.store.conversations import DmChannels, page_query
from collab.store.positions import ReadPositions
from collab.store.prune import Pruner


def conversations(store: EventStore) -> Conversations:
    return Conversations(DmChannels(store.engine), store)  # type: ignore[attr-defined]


async def say(store: EventStore, sender: str, to: str, content: str = "hi", nickname: str | None = None) -> str:
    """A direct message as the chat frames store it: the pair's channel, made on first use."""
    name = dm_channel(sender, to)
    if await store.get_channel(name) is None:
        await store.create_channel(name, private=True, members={sender, to})
    event = NewEvent(name, "private", {"content": content, "from": "c1", "to": to}, user_id=sender, nickname=nickname)
    await store.append(event)
    return name


async def test_a_user_gets_their_conversations_newest_first(store: EventStore) -> None:
    await say(store, "alice", "bob", nickname="Bob?")
    await say(store, "carol", "alice", nickname="Carol")
    await say(store, "bob", "alice", "later", nickname="Bobby")
    await say(store, "alice", "bob", "and again", nickname="Alice")
    await say(store, "alice", "dave")  # Dave never wrote: his name is not known
    await say(store, "bob", "carol")  # not Alice's

    frame = await conversations(store).frame("alice")
    assert frame["type"] == "dms" and frame["next"] is None and frame["before"] is None
    assert [(e["channel"], e["peer"], e["peer_name"], e["seq"]) for e in frame["dms"]] == [
        ("dm:alice:dave", "dave", None, 1),
        ("dm:alice:bob", "bob", "Bobby", 3),  # his last name, not Alice's
        ("dm:alice:carol", "carol", "Carol", 1),
    ]
    entry = frame["dms"][1]
    assert (entry["last_read"], entry["unread"]) == (0, 3)
    stored = (await store.read("dm:alice:bob"))[-1]
    assert entry["last_event_at"] == stored.created_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    bobs = await conversations(store).frame("bob")
    assert [(e["peer"], e["peer_name"]) for e in bobs["dms"]] == [("carol", None), ("alice", "Alice")]
    assert (await conversations(store).frame("nobody"))["dms"] == []


async def test_the_read_position_gives_the_unread_count(store: EventStore) -> None:
    name = await say(store, "bob", "alice")
    await say(store, "bob", "alice")
    await say(store, "bob", "alice")
    await ReadPositions(store.engine).mark(name, "alice", 2)  # type: ignore[attr-defined]
    (entry,) = (await conversations(store).frame("alice"))["dms"]
    assert (entry["seq"], entry["last_read"], entry["unread"]) == (3, 2, 1)
    (entry,) = (await conversations(store).frame("bob"))["dms"]
    assert (entry["last_read"], entry["unread"]) == (0, 3)


async def test_only_the_pair_the_name_spells_gets_a_conversation(store: EventStore) -> None:
    # A stored member the name does not spell, a private room, an escaped pair, a channel with no event.
    await say(store, "bob", "carol")
    await store.add_member("dm:bob:carol", "alice")
    await store.create_channel("secret", private=True, members={"alice", "bob"})
    await store.append(NewEvent("secret", "message", {"content": "x"}, user_id="bob"))
    escaped = await say(store, "alice:x", "alice", nickname="AX")
    await store.create_channel(dm_channel("alice", "eve"), private=True, members={"alice", "eve"})

    frame = await conversations(store).frame("alice")
    assert [(e["channel"], e["peer"], e["peer_name"]) for e in frame["dms"]] == [(escaped, "alice:x", "AX")]
    assert [e["peer"] for e in (await conversations(store).frame("alice:x"))["dms"]] == ["alice"]


async def test_pages_follow_each_other_without_gaps_or_repeats(store: EventStore) -> None:
    peers = [f"p{n}" for n in range(7)]
    for peer in peers:
        await say(store, peer, "alice")
    listing = conversations(store)
    seen: list[str] = []
    before = None
    pages = 0
    while True:
        frame = await listing.frame("alice", limit=3, before=before)
        assert frame["before"] == before and len(frame["dms"]) <= 3
        seen += [entry["peer"] for entry in frame["dms"]]
        pages += 1
        before = frame["next"]
        if before is None:
            break
    assert seen == peers[::-1] and pages == 3
    assert (await listing.frame("alice", limit=7))["next"] is None


async def test_a_pruned_head_keeps_the_conversation_listed_last(store: EventStore) -> None:
    old = await say(store, "bob", "alice")
    await say(store, "carol", "alice")
    await Pruner(store.engine).delete_through(old, 1, 1)  # type: ignore[attr-defined]
    frame = await conversations(store).frame("alice")
    assert [(e["peer"], e["last_event_at"] is None) for e in frame["dms"]] == [("carol", False), ("bob", True)]


@pytest.mark.parametrize(
    "before", ["", "x.dm:a:b", "12", "-1.dm:a:b", "\u0661.dm:a:b", "1." + "x" * 240, str(2**63) + ".dm:a:b"]
)
async def test_a_cursor_that_no_page_gave_is_refused(store: EventStore, before: str) -> None:
    with pytest.raises(ProtocolError, match="'before'"):
        await conversations(store).frame("alice", before=before)


async def test_a_page_reads_the_users_own_rows_by_index(store: EventStore) -> None:
    """No scan of a table per call: SQLite's plan searches every table by an index (PostgreSQL picks
    by its statistics, which a test database does not have)."""
    engine = store.engine  # type: ignore[attr-defined]
    if engine.dialect.name != "sqlite":
        pytest.skip("the plan of a PostgreSQL query depends on its tables' statistics")
    statement = page_query("alice", 51, (5, "dm:a:b")).compile(engine, compile_kwargs={"literal_binds": True})
    async with engine.connect() as conn:
        plan = [row[3] for row in await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}")]
    assert "SEARCH channel_members USING INDEX ix_channel_members_user_id (user_id=?)" in plan, plan
    scans = [step for step in plan if step.startswith("SCAN") and step != "SCAN page"]
    assert scans == [], plan
