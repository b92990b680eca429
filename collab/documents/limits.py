"""What one document may hold, and what one connection may announce in it (docs/editor.md, "Limits").

A tiny request can make the server send a whole document: its size is bounded (`max_bytes`, the
document encoded as one update, which is what a snapshot stores and what a new client downloads). An
update that would take it past the bound is refused before it is stored; one that inserts nothing (it
only deletes) is always let in, so that a full document can still be cut down.

Awareness goes to every connection of a document and every joiner gets all of it: each connection may
bring in at most `awareness_clients` client ids over its life, each state at most
`awareness_state_bytes` bytes of JSON. So a joiner's awareness is at most (connections) x (clients) x (bytes).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from collab.documents import wire as documents
from collab.documents.room import Room
from collab.errors import CollabError


@dataclass(frozen=True, slots=True)
class DocumentLimits:
    max_bytes: int = 4 * 1024 * 1024  # COLLAB_DOC_MAX_BYTES
    awareness_clients: int = 4  # COLLAB_AWARENESS_CLIENTS
    awareness_state_bytes: int = 4096  # COLLAB_AWARENESS_STATE_BYTES


DEFAULT_LIMITS = DocumentLimits()


class DocumentTooLarge(CollabError):
    """An update that would take its document past `max_bytes`: refused, never stored."""

    code = "too_large"


def has_room_for(room: Room, extra: int, max_bytes: int) -> bool:
    """Whether `extra` more bytes of update keep the document within `max_bytes`, counting the updates
    accepted and not folded in yet. The size kept (`room.size`) is an upper bound: the last measure plus
    every update folded since at its full size. The document is measured again (encoded) only when that
    bound says no and something was folded since the last measure."""
    if room.size is not None and room.size + room.incoming_bytes + extra <= max_bytes:
        return True
    if room.size is None or room.measured_seq != room.seq:
        room.size, room.measured_seq = len(documents.encode_doc(room.doc)), room.seq
    return room.size + room.incoming_bytes + extra <= max_bytes


def admit_awareness(
    entries: Iterable[documents.AwarenessEntry],
    awareness: documents.DocAwareness,
    announced: set[int],
    limits: DocumentLimits,
) -> tuple[list[documents.AwarenessEntry], int]:
    """The entries of one connection's awareness message that go on, and how many were refused.

    - A removal (`null`) goes on only for a client that has a state (others would only grow the list of
      clients ever seen).
    - A state larger than `awareness_state_bytes` is refused.
    - A state at or below the clock the server knows for its client changes nothing: dropped (y-websocket
      clients echo every state they receive).
    - A state for a client this connection brought in, or for one that has a state already (another
      connection's: it replaces a state, it adds none), goes on.
    - Any other client is new: it counts against this connection's `awareness_clients` (`announced`,
      for the connection's whole life) and is refused beyond it.
    """
    kept: list[documents.AwarenessEntry] = []
    refused = 0
    for entry in entries:
        client = entry.client
        if entry.removal:
            if awareness.has_state(client):
                kept.append(entry)
        elif entry.size > limits.awareness_state_bytes:
            refused += 1
        elif entry.clock <= awareness.clock_of(client):
            continue
        elif client in announced or awareness.has_state(client):
            kept.append(entry)
        elif len(announced) < limits.awareness_clients:
            announced.add(client)
            kept.append(entry)
        else:
            refused += 1
    return kept, refused
