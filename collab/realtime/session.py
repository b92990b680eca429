"""A client of the JSON channel socket (`/ws`): its channels, its resume positions, its attributes."""

from __future__ import annotations

from typing import Any

from collab.realtime import base_compat
from collab.realtime.connection import DEFAULT_QUEUE_BYTES, DEFAULT_QUEUE_LIMIT, Connection, Transport, new_client_id
from collab.realtime.frames import json_frame
from collab.users import User

__all__ = ["Session", "new_client_id"]


class Session(Connection):
    """A connected `/ws` client (`client` in the channel API); how its frames reach the socket is
    `Connection`'s."""

    __slots__ = ("attrs", "channels", "holding", "legacy_room", "positions")

    def __init__(
        self,
        transport: Transport,
        user: User,
        *,
        queue_limit: int = DEFAULT_QUEUE_LIMIT,
        queue_bytes: int = DEFAULT_QUEUE_BYTES,
        legacy_room: bool = False,
        client_id: str | None = None,
    ) -> None:
        super().__init__(transport, user, queue_limit=queue_limit, queue_bytes=queue_bytes, client_id=client_id)
        # Base's clients (connected with `room=`) want `room` on every frame (collab.realtime.base_compat).
        self.legacy_room = legacy_room
        self.channels: set[str] = set()
        # Per channel, the last seq this client has been sent: replay and live delivery overlap during a
        # resume, and this is what drops the overlap.
        self.positions: dict[str, int] = {}
        # Who the client is, under the names Base's hooks read (`client.GetAttr("nickname")` in an
        # `OnConnect`); the socket adds `home`, its own channel. A hook may set more, or change these.
        self.attrs: dict[str, Any] = {"nickname": user.name, "user_id": user.id, "userId": user.id}
        # Channels being replayed to this client: live events wait here until the replay is sent.
        self.holding: dict[str, list[tuple[int, bytes]]] = {}

    # -- the channel API -------------------------------------------------------------------------

    def send(self, data: dict[str, Any]) -> None:
        """Queue one frame for this client."""
        if self.legacy_room and "room" not in data:
            data = base_compat.with_room(data, data.get("channel") or self.attrs.get("home"))
        self.send_wire(json_frame(data))

    def get_attr(self, name: str, default: Any = None) -> Any:
        return self.attrs.get(name, default)

    def set_attr(self, name: str, value: Any) -> None:
        self.attrs[name] = value

    # Base's spelling, so that its examples run as written.
    GetAttr = get_attr
    SetAttr = set_attr

    # -- delivery --------------------------------------------------------------------------------

    def answer_retry(self, channel: str, seq: int, frame: dict[str, Any]) -> None:
        """Answer a retried id with its stored event (`frame`, of seq `seq`). When this client's stream
        of `channel` has not reached that seq yet, the event is on its way to it (committed, and
        delivered in seq order once another process publishes the seqs before it): that delivery is the
        answer. Sent now, the echo would run ahead of those seqs, which a client takes for a gap."""
        position = self.positions.get(channel)
        if position is not None and seq > position:
            return
        self.send(frame)

    def deliver(self, channel: str, seq: int, wire: bytes) -> None:
        """Send a stored event of `channel` (framed: collab.realtime.frames) unless this client has had
        it already (resume overlap)."""
        if seq <= self.positions.get(channel, 0):
            return
        self.positions[channel] = seq
        self.send_wire(wire)
