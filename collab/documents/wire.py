"""CRDT documents through pycrdt (the only module that imports it): Yjs documents, the y-websocket wire
format, and the awareness of a document's clients.

The wire format is y-protocols' (what `WebsocketProvider` from the npm package y-websocket speaks): every
binary frame holds one message, `varUint(type)` then its body:

    0 sync       varUint(0 step 1 | 1 step 2 | 2 update), varUint8Array(state vector | update)
    1 awareness  varUint8Array(varUint(n), n times (varUint(client), varUint(clock), varString(JSON state)))
    2 auth       varUint(0 permission denied), varString(reason)   (server → client only)
    3 query awareness (no body)

Frames from clients are parsed strictly (`parse_message`): a truncated or overlong field, bytes after the
message, an update or state vector that pycrdt cannot decode, or awareness that is not JSON objects raises
`ProtocolError`, and nothing of that frame reaches a document, the log or another client. A message type
this module does not know is returned as such, for the caller to ignore.

Documents are updated only by applying stored updates (`apply_update`), in seq order, so a document in
memory is always the fold of the log up to some seq (see collab/projections/document.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from pycrdt import (
    Awareness,
    Doc,
    Encoder,
    Text,
    YMessageType,
    YSyncMessageType,
    create_awareness_message,
    create_sync_message,
    create_update_message,
    get_state,
    write_message,
    write_var_uint,
)
from pycrdt import (
    merge_updates as _merge_updates,
)

from collab.errors import ProtocolError

# The Y.Text the editor (static/src/editor.js) binds to, and the one `GET /api/docs/{name}` returns.
TEXT_ROOT = "content"

SYNC = YMessageType.SYNC
AWARENESS = YMessageType.AWARENESS
AUTH = 2
QUERY_AWARENESS = 3
STEP1 = YSyncMessageType.SYNC_STEP1
STEP2 = YSyncMessageType.SYNC_STEP2
UPDATE = YSyncMessageType.SYNC_UPDATE

_STEP2_HEADER = bytes((SYNC, STEP2))
# An update that changes nothing (no structs, empty delete set): what a fresh client answers to step 1.
EMPTY_UPDATE = b"\x00\x00"
# lib0 refuses varUints above 2^53 (JavaScript's safe integers); so do we.
_MAX_VAR_UINT_BITS = 53


class _Reader:
    """lib0's decoding, with every read bounds-checked (pycrdt's `Decoder` slices past the end silently)."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def var_uint(self) -> int:
        data, pos, result, shift = self.data, self.pos, 0, 0
        while True:
            if pos >= len(data):
                raise ProtocolError("truncated y-websocket message (a number runs past the end)")
            byte = data[pos]
            pos += 1
            result |= (byte & 0x7F) << shift
            if byte < 0x80:
                self.pos = pos
                return result
            shift += 7
            if shift >= _MAX_VAR_UINT_BITS:
                raise ProtocolError("a number in the y-websocket message is too large")

    def var_bytes(self) -> bytes:
        length = self.var_uint()
        end = self.pos + length
        if end > len(self.data):
            raise ProtocolError("truncated y-websocket message (a field runs past the end)")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def finish(self) -> None:
        if self.pos != len(self.data):
            raise ProtocolError(f"{len(self.data) - self.pos} bytes after the end of the y-websocket message")


@dataclass(frozen=True, slots=True)
class AwarenessEntry:
    """One client's state in an awareness update: `state` is its JSON text as sent, `size` that text's
    length in bytes; `removal` when the state is `null` (the client is gone)."""

    client: int
    clock: int
    state: str
    size: int
    removal: bool


@dataclass(frozen=True, slots=True)
class Message:
    """One parsed client message. `sync` is the sync message type (SYNC only); `payload` is the state
    vector, update or awareness update (empty for the other types). An update says whether it
    `inserts` anything (an update that only deletes does not); an awareness update has its `entries`."""

    type: int
    sync: int
    payload: bytes
    inserts: bool = False
    entries: tuple[AwarenessEntry, ...] = ()


def parse_message(frame: bytes) -> Message:
    """A client frame as a `Message`, checked down to the bytes of its update (see the module docstring)."""
    reader = _Reader(frame)
    kind = reader.var_uint()
    if kind == SYNC:
        sync = reader.var_uint()
        if sync not in (STEP1, STEP2, UPDATE):
            raise ProtocolError(f"unknown sync message type {sync}")
        payload = reader.var_bytes()
        reader.finish()
        if sync == STEP1:
            check_state_vector(payload)
            return Message(kind, sync, payload)
        check_update(payload)
        return Message(kind, sync, payload, inserts=inserts(payload))
    if kind == AWARENESS:
        payload = reader.var_bytes()
        reader.finish()
        return Message(kind, 0, payload, entries=tuple(awareness_entries(payload)))
    return Message(kind, 0, b"")


def check_update(update: bytes) -> None:
    """`ProtocolError` unless pycrdt decodes `update` (a Yjs v1 update). Decoding is what applying it
    would do first, at a tenth of the cost; an update that decodes also applies."""
    try:
        get_state(update)
    except ValueError:
        raise ProtocolError("the update is not a Yjs update") from None


def inserts(update: bytes) -> bool:
    """Whether a (checked) update inserts anything: a Yjs v1 update starts with the number of clients
    it has structs of, and one that only deletes has none."""
    return update[:1] != b"\x00"


def check_state_vector(state: bytes) -> None:
    reader = _Reader(state)
    for _ in range(reader.var_uint()):
        reader.var_uint()
        reader.var_uint()
    reader.finish()


def awareness_entries(update: bytes) -> list[AwarenessEntry]:
    """The entries of an awareness update; `ProtocolError` unless every entry is (client, clock, JSON
    object or null)."""
    reader = _Reader(update)
    entries = []
    for _ in range(reader.var_uint()):
        client = reader.var_uint()
        clock = reader.var_uint()
        raw = reader.var_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("a string in the y-websocket message is not UTF-8") from None
        try:
            state = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise ProtocolError("an awareness state is not JSON") from None
        if state is not None and not isinstance(state, dict):
            raise ProtocolError("an awareness state must be a JSON object or null")
        entries.append(AwarenessEntry(client, clock, text, len(raw), state is None))
    reader.finish()
    return entries


def awareness_clients(update: bytes) -> list[int]:
    """The client ids an awareness update speaks for (`ProtocolError` as `awareness_entries`)."""
    return [entry.client for entry in awareness_entries(update)]


def awareness_update(entries: Iterable[AwarenessEntry]) -> bytes:
    """An awareness update of `entries` (those of a client's update that the server passes on)."""
    chosen = list(entries)
    encoder = Encoder()
    encoder.write_var_uint(len(chosen))
    for entry in chosen:
        encoder.write_var_uint(entry.client)
        encoder.write_var_uint(entry.clock)
        encoder.write_var_string(entry.state)
    return encoder.to_bytes()


# -- messages the server sends ---------------------------------------------------------------------


def update_message(update: bytes) -> bytes:
    return create_update_message(update)


def merge_updates(updates: list[bytes]) -> bytes:
    """One update with the effect of all of `updates` (in any order: Yjs updates commute)."""
    return _merge_updates(*updates)


def sync_step1_message(doc: Doc) -> bytes:
    """The server's state vector: the client answers with step 2, the updates the server lacks."""
    return create_sync_message(doc)


def sync_step2_message(doc: Doc, state_vector: bytes) -> bytes:
    """The answer to a client's step 1: everything in `doc` that the state vector lacks."""
    try:
        return _STEP2_HEADER + write_message(doc.get_update(state_vector))
    except ValueError:
        raise ProtocolError("the state vector is not a Yjs state vector") from None


def permission_denied_message(reason: str) -> bytes:
    """y-protocols' auth message; y-websocket logs it as "Permission denied"."""
    encoder = Encoder()
    encoder.write_var_uint(AUTH)
    encoder.write_var_uint(0)
    encoder.write_var_string(reason)
    return encoder.to_bytes()


# -- documents -------------------------------------------------------------------------------------


def new_doc() -> Doc:
    return Doc()


def apply_update(doc: Doc, update: bytes | None) -> bool:
    """Apply a stored update. False (the document unchanged) for one that does not decode: updates are
    checked before they are stored, so that only happens to a log written by something else."""
    if not update or update == EMPTY_UPDATE:
        return True
    try:
        doc.apply_update(update)
    except ValueError:
        return False
    return True


def encode_doc(doc: Doc) -> bytes:
    """The whole document as one update (a snapshot)."""
    return doc.get_update()


def restore_doc(blob: bytes) -> Doc:
    doc = Doc()
    if blob:
        doc.apply_update(blob)
    return doc


def root_names(doc: Doc) -> list[str]:
    return sorted(doc.keys())


def read_text(doc: Doc, root: str = TEXT_ROOT) -> str:
    """The root `root` read as a Y.Text ("" when the document has no such root). Only for documents
    that are read and thrown away: reading a root fixes its type in that document."""
    if root not in list(doc.keys()):
        return ""
    return str(doc.get(root, type=Text))


def show_doc(doc: Doc) -> dict[str, Any]:
    """A document for `collab replay`: the editor's text, and every root read as text (a root that is
    not a Y.Text reads as "")."""
    return {"text": read_text(doc), "texts": {name: read_text(doc, name) for name in root_names(doc)}}


# -- awareness -------------------------------------------------------------------------------------


class DocAwareness:
    """Who is in a document and where their cursors are, never stored. Wraps pycrdt's `Awareness` (its
    clocks decide which of two updates for a client wins) and remembers which connection announced
    which client id, so that a connection that goes away can be announced gone."""

    def __init__(self) -> None:
        self._awareness = Awareness(Doc())
        self._awareness.set_local_state(None)  # the server is not a participant
        self._owners: dict[int, Any] = {}
        self._changed = False
        self._awareness.observe(self._observe)

    def _observe(self, topic: str, payload: tuple[dict[str, list[int]], Any]) -> None:
        if topic != "update":
            return
        changes, origin = payload
        self._changed = True
        if origin is not None:
            for client in (*changes["added"], *changes["updated"]):
                self._owners[client] = origin
        for client in changes["removed"]:
            self._owners.pop(client, None)

    def apply(self, update: bytes, origin: Any) -> bool:
        """Apply a checked awareness update (see `awareness_clients`); True if it changed anything (a
        renewal with a higher clock counts: it says the client is still there)."""
        self._changed = False
        self._awareness.apply_awareness_update(update, origin)
        return self._changed

    @property
    def clients(self) -> list[int]:
        return list(self._awareness.states)

    def has_state(self, client: int) -> bool:
        return client in self._awareness.states

    def clock_of(self, client: int) -> int:
        """The clock of `client`'s latest state (0 when unknown): a state at or below it changes nothing."""
        meta = self._awareness.meta.get(client)
        return 0 if meta is None else meta["clock"]

    def states_message(self) -> bytes | None:
        """Every known state in one message (for a client that joins or asks), None when there is none."""
        clients = self.clients
        if not clients:
            return None
        return create_awareness_message(self._awareness.encode_awareness_update(clients))

    def removal_of(self, origin: Any) -> bytes | None:
        """The awareness update that says the clients `origin` announced are gone, or None. Applying it
        (here and in every client) removes them: a null state at the current clock wins over the state."""
        clients = [client for client, owner in self._owners.items() if owner == origin]
        return removal_update(clients, self._awareness.meta) if clients else None

    def forget(self, clients: Iterable[int]) -> None:
        self._awareness.remove_awareness_states(list(clients), None)


def removal_update(clients: list[int], meta: dict[int, dict[str, Any]]) -> bytes:
    encoder = Encoder()
    encoder.write_var_uint(len(clients))
    for client in clients:
        encoder.write_var_uint(client)
        encoder.write_var_uint(meta.get(client, {}).get("clock", 0))
        encoder.write_var_string("null")
    return encoder.to_bytes()


def awareness_message(update: bytes) -> bytes:
    return create_awareness_message(update)


# An awareness message with no states: it changes nothing, and tells a y-websocket client that the
# connection is alive (it reconnects after 30 s of silence).
EMPTY_AWARENESS = awareness_message(b"\x00")


__all__ = [
    "AWARENESS",
    "EMPTY_AWARENESS",
    "EMPTY_UPDATE",
    "QUERY_AWARENESS",
    "STEP1",
    "STEP2",
    "SYNC",
    "TEXT_ROOT",
    "UPDATE",
    "AwarenessEntry",
    "DocAwareness",
    "Message",
    "apply_update",
    "awareness_entries",
    "awareness_message",
    "awareness_update",
    "encode_doc",
    "merge_updates",
    "new_doc",
    "parse_message",
    "permission_denied_message",
    "read_text",
    "restore_doc",
    "show_doc",
    "sync_step1_message",
    "sync_step2_message",
    "update_message",
    "write_var_uint",
]
