"""A live channel in this process: the clients in it, what a channel module sends to them, and how it
stores an event (`Channel.append`); `collab.realtime.hub.ChannelManager` owns the channels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from collab.errors import Forbidden
from collab.events import Appended, ChannelInfo, NewEvent
from collab.realtime import base_compat
from collab.realtime.frames import json_frame
from collab.realtime.kinds import ChannelKind
from collab.realtime.presence import Presence
from collab.realtime.protocol import check_event_type
from collab.realtime.session import Session

if TYPE_CHECKING:
    from collab.realtime.hub import ChannelManager


class Channel:
    """A live channel in this process: the clients in it and the kind's per-channel state."""

    def __init__(self, manager: ChannelManager, name: str, kind: ChannelKind) -> None:
        self.manager = manager
        self.name = name
        self.kind = kind
        self.clients: dict[str, Session] = {}
        self.state: dict[str, Any] = {}  # for the kind's own use (a board's projection, …)
        self.presence = Presence(self, manager.drop_if_idle, manager.cluster)
        # Why `update_access` put out a client still joining (by client id): its join says so.
        self.put_out: dict[str, str] = {}

    def broadcast(self, data: dict[str, Any], exclude: str | None = None) -> None:
        """Send a frame that is not stored to every client here (encoded once)."""
        data.setdefault("channel", self.name)
        wire = json_frame(data)
        legacy: bytes | None = None
        for client in list(self.clients.values()):
            # A client still joining (registered, not yet sent `welcome`/`subscribed`) gets no passing
            # frames: they would come before its announcement, and its presence list follows the join.
            if client.id == exclude or self.name in client.holding:
                continue
            if client.legacy_room:
                legacy = legacy or json_frame(base_compat.with_room(data, self.name))
                client.send_wire(legacy)
            else:
                client.send_wire(wire)

    def send_to(self, client_id: str, data: dict[str, Any]) -> bool:
        client = self.clients.get(client_id)
        if client is None or self.name in client.holding:  # still joining: see `broadcast`
            return False
        data.setdefault("channel", self.name)
        if client.legacy_room:
            data = base_compat.with_room(data, data.get("room", self.name))
        client.send(data)
        return True

    async def append(
        self,
        client: Session | None,
        event_type: str,
        data: Any = None,
        *,
        op_id: str | None = None,
        blob: bytes | None = None,
    ) -> Appended:
        """Store an event of this channel, then publish it to every process (and so to the clients).
        A retried `op_id` is answered to its sender alone. `ProtocolError` for a type the server's own
        frames have (every path that stores comes here, a channel module's too)."""
        check_event_type(event_type)
        user = client.user if client is not None else None
        appended = await self.manager.append(
            NewEvent(
                self.name,
                event_type,
                data,
                blob,
                user_id=user.id if user else None,
                nickname=user.name if user else None,
                op_id=op_id,
            )
        )
        if not appended.new and client is not None:
            client.answer_retry(self.name, appended.event.seq, self.manager.frame_for(client, appended.event))
        return appended


def require_member(info: ChannelInfo | None, session: Session) -> None:
    """Private channels admit their members and admins only."""
    if info is not None and info.private and session.user.id not in info.members and not session.user.is_admin:
        raise Forbidden(f"channel {info.name!r} is private")
