"""A live channel in this process: the clients in it, the frames sent to all of them, and how an event of
the channel is stored. The manager that keeps the channels (collab.realtime.hub) makes them."""

from __future__ import annotations

from typing import Any, Protocol

from collab.events import Appended, NewEvent, StoredEvent
from collab.realtime import base_compat
from collab.realtime.cluster_presence import ClusterPresence
from collab.realtime.frames import json_frame
from collab.realtime.kinds import ChannelKind
from collab.realtime.presence import Presence
from collab.realtime.protocol import check_event_type
from collab.realtime.session import Session


class ChannelHost(Protocol):
    """What a channel asks of the manager that keeps it (`collab.realtime.hub.ChannelManager`)."""

    cluster: ClusterPresence

    def drop_if_idle(self, channel: Channel) -> None: ...

    async def append(self, event: NewEvent) -> Appended: ...

    def frame_for(self, session: Session, event: StoredEvent) -> dict[str, Any]: ...


class Channel:
    """A live channel in this process: the clients in it and the kind's per-channel state."""

    def __init__(self, manager: ChannelHost, name: str, kind: ChannelKind) -> None:
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
