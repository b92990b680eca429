"""Documents as they were: a document's text at any seq, for operators (`GET /api/docs/{name}?at=SEQ`,
`collab replay doc:<name>`). Read from the log through the same fold the live rooms use."""

from __future__ import annotations

from collab.documents import wire
from collab.documents.projection import DOCUMENT, UPDATE
from collab.documents.room import channel_of
from collab.projections.base import load_state
from collab.store.base import EventStore


class DocumentView:
    """A document's text at a seq, for operators (`GET /api/docs/{name}?at=SEQ`)."""

    __slots__ = ("head", "name", "roots", "seq", "text")

    def __init__(self, name: str, seq: int, head: int, text: str, roots: list[str]) -> None:
        self.name, self.seq, self.head, self.text, self.roots = name, seq, head, text, roots


async def document_at(store: EventStore, name: str, at: int | None, root: str = wire.TEXT_ROOT) -> DocumentView | None:
    """The document after seq `at` (default: the head), None if it has never been written."""
    channel = channel_of(name)
    info = await store.get_channel(channel)
    if info is None:
        return None
    loaded = await load_state(store, DOCUMENT, channel, until=at)
    return DocumentView(name, loaded.seq, info.head, wire.read_text(loaded.state, root), wire.root_names(loaded.state))


async def texts_at(store: EventStore, name: str, at: int, roots: tuple[str, ...]) -> tuple[int, dict[str, str]] | None:
    """The seq folded in (at most `at`) and the text of each of `roots` then; None for a document never
    written. One fold for several roots: the editor's version view wants its body and its title."""
    channel = channel_of(name)
    if await store.get_channel(channel) is None:
        return None
    loaded = await load_state(store, DOCUMENT, channel, until=at)
    return loaded.seq, {root: wire.read_text(loaded.state, root) for root in roots}


class Version:
    """One stored update of a document: who sent it and when (its bytes stay in the log)."""

    __slots__ = ("at", "bytes", "nickname", "seq", "user_id")

    def __init__(self, seq: int, user_id: str | None, nickname: str | None, at: str, size: int) -> None:
        self.seq, self.user_id, self.nickname, self.at, self.bytes = seq, user_id, nickname, at, size

    def as_json(self) -> dict[str, object]:
        return {"seq": self.seq, "user_id": self.user_id, "nickname": self.nickname, "at": self.at, "bytes": self.bytes}


async def versions(store: EventStore, name: str, limit: int) -> tuple[int, list[Version]] | None:
    """The head and the last `limit` updates still kept (pruned ones are gone), oldest first; None for a
    document never written. A bounded read: a long history costs `limit` rows, not all of them."""
    channel = channel_of(name)
    info = await store.get_channel(channel)
    if info is None:
        return None
    first = await store.first_seq(channel)
    after = max(first - 1, info.head - limit)
    events = await store.read(channel, after=after, limit=limit)
    return info.head, [
        Version(event.seq, event.user_id, event.nickname, event.created_at.isoformat(), len(event.blob or b""))
        for event in events
        if event.type == UPDATE
    ]
