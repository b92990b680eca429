"""Documents as they were: a document's text at any seq, for operators (`GET /api/docs/{name}?at=SEQ`,
`collab replay doc:<name>`). Read from the log through the same fold the live rooms use."""

from __future__ import annotations

from collab.documents import wire
from collab.documents.projection import DOCUMENT
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
