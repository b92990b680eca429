"""Board clients at the engine level, and the users they act as: sessions on fake transports, one or
more "server processes" (channel managers sharing a store and a broker), and a replica that builds a
board from the frames a client receives the way a page does (the `state` frame, then every stored
event with a higher seq)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from collab.boards.channels import Board
from collab.boards.drawing import DRAWING
from collab.boards.kanban import KANBAN
from collab.documents.projection import DOCUMENT
from collab.engine import Engine
from collab.events import StoredEvent
from collab.projections.base import Projection
from collab.projections.registry import Projections
from collab.realtime.broker import InProcessBroker
from collab.realtime.dispatch import Dispatcher
from collab.realtime.hub import ChannelManager
from collab.realtime.session import Session
from collab.store.sql import SqlEventStore
from collab.users import User
from support.frames import split_frames

ANN = User("u-ann", "Ann")
BOB = User("u-bob", "Bob")
CAT = User("u-cat", "Cat")
READER = User("u-reader", "Reader", roles=frozenset({"readonly"}))

# The envelope of a stored event on the wire; everything else in the frame is the event's data.
ENVELOPE = frozenset({"type", "channel", "seq", "user_id", "nickname", "id", "ts"})
FIXTURES = sorted((Path(__file__).resolve().parents[1] / "boards" / "fixtures").glob("*.jsonl"))
CONTROL = frozenset({"welcome", "subscribed", "presence", "presence_diff", "system", "error", "pong", "state", "rooms"})


def event_from_frame(frame: dict[str, Any]) -> StoredEvent:
    """A stored event back from its wire frame (docs/protocol.md: `{type, channel, seq, **data, …}`)."""
    data = {key: value for key, value in frame.items() if key not in ENVELOPE}
    return StoredEvent(
        frame["channel"],
        frame["seq"],
        frame["type"],
        data,
        None,
        frame.get("user_id"),
        frame.get("nickname"),
        frame.get("id"),
        datetime.now(UTC),
    )


def canonical(state: Any) -> Any:
    """A state as JSON would give it back (tuples as lists, key order irrelevant)."""
    return orjson.loads(orjson.dumps(state, option=orjson.OPT_SORT_KEYS))


async def flushed() -> None:
    """Let the loop turn end: a connection writes the frames of a turn at its end."""
    await asyncio.sleep(0)


class FakeTransport:
    """Every frame the server sends, decoded; never makes it wait (a fast client)."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self.closed: int | None = None

    def write(self, data: bytes) -> bool:
        self.frames.extend(orjson.loads(payload) for _, payload in split_frames(data))
        return True

    async def drained(self) -> None:
        return None

    async def close(self, code: int, reason: str) -> None:
        self.closed = code


class SequencedBroker(InProcessBroker):
    """The broker engines share when they stand in for processes: events of one channel handed out in seq
    order, as the PostgreSQL broker's sequencer hands them out (collab/store/pg_broker.py).

    Each engine publishes after its own commit, and two engines' publishes of one channel can cross:
    one engine's writer waited for SQLite's lock on a thread while the other committed the next seq and
    published it first. A hub takes a channel's events in seq order (a session drops a seq below one it
    has sent), so here an event that skips ahead waits for the seqs before it, which their engines
    publish a moment later."""

    def __init__(self) -> None:
        super().__init__()
        self._last: dict[str, int] = {}
        self._held: dict[str, dict[int, StoredEvent]] = {}

    def publish(self, event: StoredEvent) -> None:
        channel = event.channel
        last = self._last.get(channel)
        if last is not None and event.seq > last + 1:
            self._held.setdefault(channel, {})[event.seq] = event
            return
        self._hand_out(event)
        held = self._held.get(channel, {})
        while self._last[channel] + 1 in held:
            self._hand_out(held.pop(self._last[channel] + 1))

    def _hand_out(self, event: StoredEvent) -> None:
        self._last[event.channel] = max(event.seq, self._last.get(event.channel, 0))
        super().publish(event)


@dataclasses.dataclass
class Node:
    """One server process: an engine of its own (its hub, live projections and command locks) on the
    cluster's database and broker."""

    engine: Engine

    @property
    def manager(self) -> ChannelManager:
        return self.engine.manager

    @property
    def dispatcher(self) -> Dispatcher:
        return self.engine.dispatcher

    @property
    def kanban(self) -> Board:
        return self.engine.boards[0]

    @property
    def draw(self) -> Board:
        return self.engine.boards[1]

    def board(self, channel: str) -> Board:
        return self.kanban if channel.startswith("kanban:") else self.draw


class Cluster:
    """`processes` engines on one database and one broker, and a store of its own to read the log."""

    def __init__(self, store: SqlEventStore, broker: InProcessBroker, nodes: list[Node]) -> None:
        self.store = store
        self.broker = broker
        self.nodes = nodes

    @classmethod
    async def open(
        cls, database_url: str, *, processes: int = 1, kanban: Projection = KANBAN, drawing: Projection = DRAWING
    ) -> Cluster:
        store = await SqlEventStore.open(database_url)
        broker = SequencedBroker()
        projections = Projections([kanban, drawing, DOCUMENT])
        nodes = [
            Node(await Engine.open(database_url, broker=broker, projections=projections)) for _ in range(processes)
        ]
        return cls(store, broker, nodes)

    async def close(self) -> None:
        for node in self.nodes:
            await node.engine.close()
        await self.store.close()


class Replica:
    """A board as a page keeps it: replaced by each `state` frame, then every stored event with a higher
    seq folded in with the same projection. Checks the stream as it goes: no gap once the board is
    known, and a `state` at the seq the replica has must equal what the replica built."""

    def __init__(self, projection: Projection, channel: str) -> None:
        self.projection = projection
        self.channel = channel
        self.state: Any = None
        self.seq = 0

    def take(self, frames: Iterable[dict[str, Any]]) -> None:
        for frame in frames:
            if frame.get("channel") != self.channel:
                continue
            if frame["type"] == "state":
                if self.state is not None and frame["seq"] == self.seq:
                    assert canonical(frame["board"]) == canonical(self.state), "the replayed board differs"
                if self.state is None or frame["seq"] >= self.seq:
                    self.state, self.seq = frame["board"], frame["seq"]
            elif frame["type"] not in CONTROL and isinstance(frame.get("seq"), int) and self.state is not None:
                if frame["seq"] <= self.seq:
                    continue  # a retry's echo, or an event the state already holds
                assert frame["seq"] == self.seq + 1, f"gap: {self.seq} then {frame['seq']}"
                self.state = self.projection.apply(self.state, event_from_frame(frame))
                self.seq = frame["seq"]


class Client:
    """A page at the engine level: connects to a node, sends frames, keeps a replica of the board."""

    def __init__(self, node: Node, user: User, channel: str) -> None:
        self.node = node
        self.user = user
        self.channel = channel
        self.replica = Replica(node.board(channel).live.projection, channel)
        self.session: Session | None = None
        self.transport: FakeTransport | None = None
        self.read = 0
        self.errors: list[dict[str, Any]] = []
        self.streams: list[list[dict[str, Any]]] = []

    @property
    def connected(self) -> bool:
        return self.session is not None

    async def connect(self, *, resume: bool = True, node: Node | None = None) -> None:
        """Join (again): with `since` = the replica's seq when it has a board and `resume` is set."""
        assert self.session is None
        self.node = node or self.node
        self.transport = FakeTransport()
        self.streams.append(self.transport.frames)
        self.read = 0
        session = Session(self.transport, self.user)
        session.set_attr("home", self.channel)
        since = self.replica.seq if resume and self.replica.state is not None else None
        if not resume:
            self.replica.state, self.replica.seq = None, 0

        def welcome(head: int) -> None:
            session.send({"type": "welcome", "client_id": session.id, "channel": self.channel, "seq": head})

        await self.node.engine.connect(session, self.channel, since, announce=welcome)
        self.session = session
        await flushed()
        self.pump()

    async def disconnect(self) -> None:
        assert self.session is not None
        self.pump()
        await self.node.engine.disconnect(self.session)
        self.session = None
        await flushed()

    async def send(self, **frame: Any) -> None:
        assert self.session is not None
        await self.node.dispatcher.handle(self.session, frame)
        await flushed()
        self.pump()

    def pump(self) -> list[dict[str, Any]]:
        """Feed the frames received since the last pump to the replica; returns them."""
        if self.transport is None:
            return []
        new = self.transport.frames[self.read :]
        self.read = len(self.transport.frames)
        self.errors.extend(frame for frame in new if frame["type"] == "error")
        self.replica.take(new)
        return new

    def check_streams(self) -> None:
        """In each connection's stream, stored events come in increasing seq order, each once (a retry's
        echo, which repeats a seq by design, is the only exception)."""
        for stream in self.streams:
            last = 0
            for frame in stream:
                if frame.get("channel") != self.channel or frame["type"] in CONTROL or "seq" not in frame:
                    continue
                if frame["seq"] <= last:
                    assert frame.get("id") is not None and frame.get("user_id") == self.user.id, frame
                    continue
                last = frame["seq"]


def read_fixture(path: Path) -> tuple[dict[str, Any], list[StoredEvent], dict[str, Any]]:
    """A recorded board log (scripts/record_fixture.py): its header, its events, its final state."""
    lines = [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
    header, final = lines[0]["header"], lines[-1]["final"]
    events = [
        StoredEvent(
            header["channel"],
            e["seq"],
            e["type"],
            e["data"],
            None,
            e["user_id"],
            e["nickname"],
            e["op_id"],
            datetime.fromisoformat(e["ts"].replace("Z", "+00:00")),
        )
        for e in (line["event"] for line in lines[1:-1])
    ]
    return header, events, final
