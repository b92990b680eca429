"""`collab.operators.history.prune` at the engine level: documents (binary snapshots), the cut rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pycrdt import Doc, Text

from collab.documents.projection import DOCUMENT
from collab.documents.wire import TEXT_ROOT, read_text
from collab.engine import PROJECTIONS
from collab.events import NewEvent
from collab.operators.prune import prune
from collab.projections.base import load_state
from collab.store.sql import SqlEventStore

OLD = datetime.now(UTC) - timedelta(days=200)


async def test_a_document_keeps_its_text(store: SqlEventStore) -> None:
    doc = Doc()
    text = doc.get(TEXT_ROOT, type=Text)
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    for word in ("one ", "two ", "three ", "four"):
        text += word
    for update in updates:
        await store.append(NewEvent("doc:notes", "update", None, update, user_id="ann", created_at=OLD))
    before = read_text((await load_state(store, DOCUMENT, "doc:notes")).state)
    assert before == "one two three four"

    [done] = await prune(store, PROJECTIONS, datetime.now(UTC) - timedelta(days=90), ["doc:notes"])
    assert (done.removed, done.first, done.last, done.snapshot_seq, done.kept_from) == (4, 1, 4, 4, 5)
    assert await store.first_seq("doc:notes") == 5 and await store.read("doc:notes") == []
    snapshot = await store.latest_snapshot("doc:notes")
    assert snapshot is not None and snapshot.seq == 4 and snapshot.blob
    assert read_text((await load_state(store, DOCUMENT, "doc:notes")).state) == before


async def test_the_cut_is_a_prefix_and_never_passes_a_newer_event(store: SqlEventStore) -> None:
    now = datetime.now(UTC)
    ages = [200, 190, 10, 180, 170, 5]  # seq 3 is recent: seqs 4 and 5 stay although they are old
    for days in ages:
        await store.append(NewEvent("chat", "message", {"content": "x"}, created_at=now - timedelta(days=days)))
    dry = await prune(store, PROJECTIONS, now - timedelta(days=90), ["chat"], dry_run=True)
    assert [(d.removed, d.first, d.last) for d in dry] == [(2, 1, 2)]
    assert await store.first_seq("chat") == 1
    [done] = await prune(store, PROJECTIONS, now - timedelta(days=90), ["chat"])
    assert (done.removed, done.kept_from, done.snapshot_seq) == (2, 3, None)
    assert [e.seq for e in await store.read("chat")] == [3, 4, 5, 6]
    # Everything older: all goes, the head stays where it was.
    [done] = await prune(store, PROJECTIONS, now, ["chat"])
    assert done.removed == 4 and await store.read("chat") == [] and await store.head("chat") == 6
    assert await store.first_seq("chat") == 7
    [again] = await prune(store, PROJECTIONS, now, ["chat"])
    assert (again.removed, again.kept_from) == (0, 7)
