"""Routing a client's frames: the frames every channel kind shares (ping, subscribe, publish, private,
rooms, read receipts), and the rest to the kind of the channel the frame is for."""

from __future__ import annotations

import logging
from typing import Any

from collab.chat.rooms import Rooms
from collab.errors import CollabError, Forbidden, NotFound, ProtocolError
from collab.naming import channel_kind, check_channel_name
from collab.realtime.hub import Channel, ChannelManager
from collab.realtime.protocol import MAX_CONTENT_LENGTH, error_frame, field_str, optional_id, optional_since
from collab.realtime.session import Session

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(self, manager: ChannelManager, rooms: Rooms) -> None:
        self.manager = manager
        self.rooms = rooms
        self.core = {
            "ping": self.ping,
            "subscribe": self.subscribe,
            "unsubscribe": self.unsubscribe,
            "publish": self.publish,
            "private": self.private,
            "create_room": self.create_room,
            "list_rooms": self.list_rooms,
            "read": self.read,
        }
        self.messages_in = 0

    async def handle(self, session: Session, frame: dict[str, Any]) -> None:
        """Handle one frame; every rejection becomes an `error` frame and changes nothing."""
        self.messages_in += 1
        op_id = frame.get("id") if isinstance(frame.get("id"), str) else None
        try:
            handler = self.core.get(frame["type"])
            if handler is not None:
                await handler(session, frame)
            else:
                await self._to_kind(session, frame)
        except CollabError as error:
            session.send(error_frame(error.code, str(error), op_id))

    async def _to_kind(self, session: Session, frame: dict[str, Any]) -> None:
        channel = self._target(session, frame)
        handler = channel.kind.message_handlers.get(frame["type"]) or channel.kind.fallback
        if handler is None:
            raise ProtocolError(f"unknown frame type {frame['type']!r} for a {channel.kind.name} channel")
        await handler(channel, session, frame)

    def _target(self, session: Session, frame: dict[str, Any]) -> Channel:
        """The channel a frame is for: its `channel` field (subscribed) or the socket's own channel."""
        name = frame.get("channel")
        if name is None:
            name = session.get_attr("home")
        elif not isinstance(name, str):
            raise ProtocolError("field 'channel' must be a string")
        if name not in session.channels:
            raise Forbidden(f"not subscribed to {name!r}")
        return self.manager.channels[name]

    # -- the shared frames ------------------------------------------------------------------------

    async def ping(self, session: Session, frame: dict[str, Any]) -> None:
        session.send({"type": "pong"})

    async def subscribe(self, session: Session, frame: dict[str, Any]) -> None:
        name = check_channel_name(frame.get("channel"))
        since = optional_since(frame)
        if name in session.channels:
            raise ProtocolError(f"already subscribed to {name!r}")

        def announce(head: int) -> None:
            session.send({"type": "subscribed", "channel": name, "seq": head})

        await self.manager.join(session, name, since, announce=announce)

    async def unsubscribe(self, session: Session, frame: dict[str, Any]) -> None:
        name = check_channel_name(frame.get("channel"))
        if name not in session.channels or name == session.get_attr("home"):
            raise ProtocolError(f"not subscribed to {name!r} (a socket cannot leave its own channel)")
        await self.manager.leave(session, name)
        session.send({"type": "unsubscribed", "channel": name})

    async def publish(self, session: Session, frame: dict[str, Any]) -> None:
        name = frame.get("channel", session.get_attr("home"))
        if not isinstance(name, str):
            raise ProtocolError("field 'channel' must be a string")
        event = field_str(frame, "event", max_length=100)
        op_id = optional_id(frame)
        if "data" not in frame:
            raise ProtocolError("field 'data' is missing")
        if name not in session.channels:
            raise Forbidden(f"publish to {name!r} needs a subscription first")
        self._writable(session)
        channel = self.manager.channels[name]
        if not channel.kind.client_publish:
            raise Forbidden(f"only the server writes to {channel.kind.name} channels")
        await channel.append(session, "event", {"event": event, "data": frame["data"]}, op_id=op_id)

    async def private(self, session: Session, frame: dict[str, Any]) -> None:
        target = field_str(frame, "target", max_length=220)
        content = field_str(frame, "content", max_length=MAX_CONTENT_LENGTH)
        op_id = optional_id(frame)
        self._writable(session)
        if target.startswith("user:"):
            target_user = target[5:]
            if not target_user:
                raise ProtocolError("target 'user:' names no user")
        else:
            other = self.manager.sessions.get(target)
            if other is None:
                raise NotFound(f"no client {target!r} is connected")
            target_user = other.user.id
        name = await self.rooms.dm_channel_for(session.user.id, target_user)
        await self.manager.channel(name).append(
            session, "private", {"content": content, "from": session.id, "to": target_user}, op_id=op_id
        )

    async def create_room(self, session: Session, frame: dict[str, Any]) -> None:
        name = check_channel_name(frame.get("name"))
        if channel_kind(name) != "chat":
            raise ProtocolError("a room name has no kind prefix (no ':')")
        private = frame.get("private", False)
        if not isinstance(private, bool):
            raise ProtocolError("field 'private' must be true or false")
        members = frame.get("members", [])
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise ProtocolError("field 'members' must be a list of user ids")
        self._writable(session)
        await self.rooms.create(session, name, private=private, members=members)

    async def list_rooms(self, session: Session, frame: dict[str, Any]) -> None:
        await self.rooms.send_list(session)

    async def read(self, session: Session, frame: dict[str, Any]) -> None:
        name = frame.get("channel", session.get_attr("home"))
        seq = frame.get("seq")
        if not isinstance(name, str):
            raise ProtocolError("field 'channel' must be a string")
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
            raise ProtocolError("field 'seq' must be a whole number ≥ 0")
        if name not in session.channels:
            raise Forbidden(f"not subscribed to {name!r}")
        await self.rooms.mark_read(session, self.manager.channels[name], seq)

    @staticmethod
    def _writable(session: Session) -> None:
        if session.user.read_only:
            raise Forbidden("a readonly user cannot write")
