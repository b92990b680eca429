"""Routing a client's frames: the frames every channel kind shares (ping, subscribe, publish, and those
a wing registers), and the rest to the kind of the channel the frame is for."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from collab.errors import CollabError, Forbidden, LimitExceeded, ProtocolError
from collab.naming import check_channel_name
from collab.realtime.channel import Channel
from collab.realtime.hub import ChannelManager
from collab.realtime.protocol import error_frame, field_str, optional_id, optional_since
from collab.realtime.session import Session

log = logging.getLogger(__name__)


FrameHandler = Callable[[Session, dict[str, Any]], Awaitable[None]]

# Channels one socket may follow besides its own (each costs memory per socket and per channel).
MAX_SUBSCRIPTIONS = 1000


class Dispatcher:
    """Frames that are not for one channel kind: the core's own (`ping`, `subscribe`, `unsubscribe`,
    `publish`) and those a wing adds with `on_frame` (chat adds rooms, receipts and direct messages)."""

    def __init__(self, manager: ChannelManager, *, max_subscriptions: int = MAX_SUBSCRIPTIONS) -> None:
        self.manager = manager
        self.max_subscriptions = max_subscriptions
        self.core: dict[str, FrameHandler] = {
            "ping": self.ping,
            "subscribe": self.subscribe,
            "unsubscribe": self.unsubscribe,
            "publish": self.publish,
        }
        self.messages_in = 0

    def on_frame(self, frame_type: str, handler: FrameHandler) -> None:
        """Handle frames of `frame_type` on every socket, whatever its channel's kind."""
        if frame_type in self.core:
            raise ValueError(f"frame type {frame_type!r} has a handler already")
        self.core[frame_type] = handler

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
        subscribed = len(session.channels) - (session.get_attr("home") in session.channels)  # not its own
        if subscribed >= self.max_subscriptions:
            raise LimitExceeded(
                f"a socket may subscribe to {self.max_subscriptions} channels; unsubscribe from one first"
            )

        announced = False

        def announce(head: int) -> None:
            nonlocal announced
            announced = True
            session.send({"type": "subscribed", "channel": name, "seq": head})

        try:
            await self.manager.join(session, name, since, announce=announce)
        except CollabError as refusal:
            if not announced:
                raise
            # Refused after `subscribed` (the room was made private meanwhile, or could not be made):
            # the socket is out again, and says so the way a removal does.
            session.send({"type": "unsubscribed", "channel": name, "reason": str(refusal)})

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

    @staticmethod
    def _writable(session: Session) -> None:
        require_writer(session)


def require_writer(session: Session) -> None:
    """Read-only users (a `readonly` role) may read everything they may join, and write nothing."""
    if session.user.read_only:
        raise Forbidden("a readonly user cannot write")
