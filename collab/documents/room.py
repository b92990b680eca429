"""A document in use in this process, and the channel a document name maps to."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from collab.documents.peer import Peer
from collab.documents.wire import DocAwareness
from collab.events import StoredEvent
from collab.naming import check_channel_name

PREFIX = "doc:"


def channel_of(name: str) -> str:
    """`doc:<name>`, or `ProtocolError` for a name no channel may have."""
    return check_channel_name(PREFIX + name)


class Room:
    """A document in use in this process: its state (the log folded up to `seq`) and its connections."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.doc: Any = None
        self.seq = 0
        self.snapshot_seq = 0
        self.snapshot_bytes = 0
        self.tail_bytes = 0
        # For the size bound (collab.documents.limits): the document's size in bytes as measured at seq
        # `measured_seq` (None: not measured yet) plus the updates folded since, and the bytes of the
        # updates accepted by this process that are not folded in yet.
        self.size: int | None = None
        self.measured_seq = -1
        self.incoming_bytes = 0
        self.peers: dict[str, Peer] = {}
        self.awareness = DocAwareness()
        # Committed updates not sent yet: (update, the frame it came in or None, the sender's peer id).
        self.outgoing: list[tuple[bytes, bytes | None, str | None]] = []
        # Events that arrive while the state is loaded or a gap is filled; folded in afterwards.
        self.held: list[StoredEvent] | None = []
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # Set while nothing is held: a connection joins only then, or its sync step 2 (from `doc`) would
        # miss held updates that were relayed before it arrived.
        self.settled = asyncio.Event()
        self.joining = 0  # connections waiting for `ready` and `settled`
        # Spreads the snapshots of documents edited at the same pace over time (0.75 to 1.25 times the minimum).
        self.jitter = 0.75 + random.random() / 2
