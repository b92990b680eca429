"""The board channel kinds: `kanban:<board>` and `draw:<board>` (docs/boards.md is the wire reference).

Each board's state lives in a `LiveProjection` while the board is in use: loaded from its latest
snapshot plus the events after it, fed every committed event by the hub's delivery, snapshotted every
`snapshot_every` events and when its last client leaves.

A command is decided at the board's head, whichever process receives it (docs/boards.md, "Several
server processes"): it is validated against the live state at seq N and its events are appended only
if the channel's head is still N (`EventStore.append_at_head`, checked under the channel's row lock).
If another process appended meanwhile, the live state catches up from the log and the command is
decided again; a refusal is only given at a state caught up with the log. So every accepted command
was valid against the board exactly as the log has it before its events. The per-process command lock
only keeps this process's own commands from racing each other for the head.

Every join (fresh or resumed) ends with a `state` frame: the board at a seq, sent after any replayed
events; a client applies the stored events with a higher seq on top of it. A `sync` that comes while
the socket's last `state` of that board is still waiting to be written gets no second one: that frame
and the events queued behind it bring the client up to date (a board is a large frame, and a tiny
`sync` must not make the server hold hundreds of copies for a client that does not read).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from collab.boards import drawing, kanban, kanban_commands
from collab.errors import Conflict, Forbidden, NotFound, ProtocolError
from collab.events import Appended, NewEvent
from collab.projections.base import Projection
from collab.projections.live import LiveProjection
from collab.realtime.channel import Channel
from collab.realtime.frames import frame_payload
from collab.realtime.hub import ChannelManager, require_member
from collab.realtime.protocol import error_frame, optional_id
from collab.realtime.session import Session
from collab.store.base import StaleHead

# How far back a retried command's id is looked for (only when the command no longer validates: a retry
# whose first try was stored, e.g. a card_add whose card now exists).
RETRY_WINDOW = 256
RETRY_WINDOW_STORE = 64
# How often a command is decided again when other processes keep moving the head before it is stored;
# then the client gets a `conflict` and may send it again.
ATTEMPTS = 16

# The tag of a socket's latest `state` frame of a board (`Connection.tag_last`), before the board's name.
_STATE_TAG = "state "

Decide = Callable[[Any, Mapping[str, Any], Session], list[tuple[str, dict[str, Any]]]]


def new_id() -> str:
    return uuid.uuid4().hex[:16]


class Board:
    """One board kind: its live projection, its command handlers and its `state` frames."""

    def __init__(self, manager: ChannelManager, projection: Projection, decide: Decide, commands: list[str]) -> None:
        self.manager = manager
        self.decide = decide
        self.live = LiveProjection(manager.store, projection)
        manager.listen_to(projection.kind, self.live.on_event)
        manager.shutdown_hooks.append(self.live.close)
        self.kind = manager.register_channel(projection.kind)
        self.kind.authorizer(require_member)  # a private board admits its members (and admins) only
        self.kind.state(self.state_frame)
        self.kind.on_connect(self._joined)
        self.kind.on_disconnect(self._left)
        self.kind.on_message("sync")(self._sync)
        for command in commands:
            self.kind.on_message(command)(self.command)

    async def state_frame(self, channel: Channel, at_least: int = 0) -> dict[str, Any]:
        """The board as of the last event folded in, and at least at seq `at_least`. Nothing awaits
        between reading the state and the caller sending it, so every event the client gets after this
        frame has a higher seq."""
        live = await self.live.get(channel.name)
        if live.seq < at_least:
            live = await self.live.catch_up(channel.name)
        return {"type": "state", "channel": channel.name, "seq": live.seq, "board": live.state}

    async def _joined(self, channel: Channel, client: Session) -> None:
        await self._send_state(channel, client)

    async def _left(self, channel: Channel, client: Session) -> None:
        if not channel.clients:
            await self.live.idle(channel.name)

    async def _sync(self, channel: Channel, client: Session, frame: dict[str, Any]) -> None:
        if not client.still_sending(_STATE_TAG + channel.name):
            await self._send_state(channel, client)

    async def _send_state(self, channel: Channel, client: Session) -> None:
        # Never behind the socket's position: a join may start it at a head read from the log, which
        # holds another process's commit this process's board has not been delivered yet. That event's
        # delivery is dropped as one the socket has had, so a state without it would lose it.
        client.send(await self.state_frame(channel, at_least=client.positions.get(channel.name, 0)))
        client.tag_last(_STATE_TAG + channel.name)

    async def command(self, channel: Channel, client: Session, frame: dict[str, Any]) -> None:
        op_id = optional_id(frame)
        if client.user.read_only:
            raise Forbidden("a readonly user cannot change a board")
        async with self.live.command(channel.name) as live:
            caught_up = False  # whether `live` was read up to the store's head during this command
            for _ in range(ATTEMPTS):
                try:
                    events = self.decide(live.state, frame, client)
                except (Conflict, NotFound, ProtocolError) as error:
                    if not caught_up:
                        # Refused by this process's copy, which may lag the log (another process's
                        # card, version, column count): refuse only what the head refuses.
                        live, caught_up = await self.live.catch_up(channel.name), True
                        continue
                    await self._refuse(channel, client, op_id, live.seq, error)
                    return
                try:
                    stored = await self.manager.store.append_at_head(
                        self._events(channel, client, events, op_id), live.seq
                    )
                except StaleHead:
                    live, caught_up = await self.live.catch_up(channel.name), True
                    continue
                self._publish(client, stored)
                return
        raise Conflict(f"{channel.name} changed {ATTEMPTS} times while this command was decided: send it again")

    @staticmethod
    def _events(
        channel: Channel, client: Session, events: list[tuple[str, dict[str, Any]]], op_id: str | None
    ) -> list[NewEvent]:
        """A command's events; the last carries the command's id (its echo acknowledges the command)."""
        last = len(events) - 1
        return [
            NewEvent(
                channel.name,
                event_type,
                data,
                user_id=client.user.id,
                nickname=client.user.name,
                op_id=op_id if index == last else None,
            )
            for index, (event_type, data) in enumerate(events)
        ]

    def _publish(self, client: Session, stored: list[Appended]) -> None:
        """New events go to every process (and so to the clients); a retry's are answered to its sender."""
        for appended in stored:
            if appended.new:
                self.manager.broker.publish(appended.event)
                # Folded now even when the broker delivers later (another process's broker): the next
                # command must see it. A second delivery of the same seq is ignored.
                self.live.on_event(appended.event)
            else:
                client.answer_retry(
                    appended.event.channel, appended.event.seq, self.manager.frame_for(client, appended.event)
                )

    async def _refuse(self, channel: Channel, client: Session, op_id: str | None, head: int, error: Exception) -> None:
        """Answer a command the board at `head` refuses."""
        # A retry (same id) of a command that was stored before the client lost its connection no
        # longer validates (its card exists, its version moved on): answer with what was stored.
        if op_id is not None and await self._answer_retry(channel, client, op_id, head):
            return
        if isinstance(error, kanban_commands.VersionConflict):
            client.send(error_frame(error.code, str(error), op_id, card=error.card, fields=error.fields))
            return
        raise error

    async def _answer_retry(self, channel: Channel, client: Session, op_id: str, head: int) -> bool:
        needle = orjson.dumps(op_id)
        after = max(0, head - RETRY_WINDOW_STORE)
        recent = self.manager.recent.after(channel.name, max(0, head - RETRY_WINDOW))
        if recent is not None:
            for _, wire in reversed(recent):
                if needle in wire:
                    frame = orjson.loads(frame_payload(wire))
                    if frame.get("id") == op_id and frame.get("user_id") == client.user.id:
                        client.answer_retry(channel.name, frame["seq"], frame)
                        return True
            after = max(after, self.manager.recent.last_seq(channel.name))
        # What this process has not delivered (yet): another process's events the broker has not
        # brought here, or all of them after a restart (`head` is the log's, caught up).
        if after >= head:
            return False
        for event in reversed(await self.manager.store.read(channel.name, after=after)):
            if event.op_id == op_id and event.user_id == client.user.id:
                client.answer_retry(channel.name, event.seq, self.manager.frame_for(client, event))
                return True
        return False


def _kanban_decide(state: Any, frame: Mapping[str, Any], client: Session) -> list[tuple[str, dict[str, Any]]]:
    return kanban_commands.decide(state, frame, new_id)


def _drawing_decide(state: Any, frame: Mapping[str, Any], client: Session) -> list[tuple[str, dict[str, Any]]]:
    return drawing.decide(state, frame, client.user.id)


def register_boards(
    manager: ChannelManager,
    *,
    kanban_projection: Projection = kanban.KANBAN,
    drawing_projection: Projection = drawing.DRAWING,
) -> tuple[Board, Board]:
    """Register `kanban:` and `draw:` channels (the projections may be swapped for tests: another
    snapshot interval)."""
    boards = Board(manager, kanban_projection, _kanban_decide, list(kanban_commands.COMMANDS))
    draw = Board(manager, drawing_projection, _drawing_decide, ["stroke_add", "stroke_erase", "undo", "clear"])

    @draw.kind.on_message("stroke_points")
    async def stroke_points(channel: Channel, client: Session, frame: dict[str, Any]) -> None:
        """Points of a stroke in progress: relayed to the others (every process), never stored."""
        if client.user.read_only:
            raise Forbidden("a readonly user cannot draw")
        relayed = {
            "type": "stroke_points",
            "stroke": drawing.stroke_field(frame),
            "points": drawing.points_field(frame, drawing.MAX_CHUNK),
            **drawing.style_fields(frame),
            "client_id": client.id,
            "user_id": client.user.id,
            "nickname": client.user.name,
        }
        manager.relay(channel, relayed, exclude=client.id)

    @draw.kind.on_message("cursor")
    async def cursor(channel: Channel, client: Session, frame: dict[str, Any]) -> None:
        relayed = {
            "type": "cursor",
            **drawing.cursor_fields(frame),
            "client_id": client.id,
            "user_id": client.user.id,
            "nickname": client.user.name,
        }
        manager.relay(channel, relayed, exclude=client.id)

    @draw.kind.on_disconnect
    async def cursor_left(channel: Channel, client: Session) -> None:
        manager.relay(channel, {"type": "cursor_left", "client_id": client.id, "user_id": client.user.id})

    return boards, draw
