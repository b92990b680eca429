"""The chat channel kind (bare channel names), the direct-message kind, and Base's legacy frames."""

from __future__ import annotations

from typing import Any

from collab.chat.direct import DirectMessages
from collab.chat.rooms import Rooms
from collab.errors import ProtocolError
from collab.events import ChannelInfo
from collab.realtime.channel import Channel
from collab.realtime.dispatch import require_writer
from collab.realtime.hub import ChannelManager, require_member
from collab.realtime.protocol import MAX_CONTENT_LENGTH, check_event_type, field_str, optional_id
from collab.realtime.session import Session

# Base's frames that are only passing motion: relayed, never stored.
TRANSIENT_TYPES = frozenset({"cursor_move", "cursor", "mouse_move", "pointer", "typing"})
LEGACY_MAX_TYPE = 40


def register_chat(manager: ChannelManager, rooms: Rooms, direct: DirectMessages) -> None:
    chat = manager.register_channel("chat")

    @chat.authorizer
    def members_only(info: ChannelInfo | None, client: Session) -> None:
        # `info` was read from the store unless `known_public` vouched for it.
        require_member(info, client)

    def known_public(name: str) -> ChannelInfo | None:
        """A public room this process knows: a join needs no read (a room never turns private, and its
        head the hub knows). Private rooms are read at every join (another process may have changed
        their members), and so is a room this process has not seen (it may be another's private one)."""
        info = rooms.infos.get(name)
        return info if info is not None and not info.private else None

    chat.known = known_public

    async def create_missing(name: str, client: Session) -> ChannelInfo | None:
        # Looked up at each join (not bound once): tests hold `rooms.ensure` to open a race.
        return await rooms.ensure(name, client)

    chat.ensure = create_missing

    @chat.on_message("message")
    async def message(channel: Channel, client: Session, frame: dict[str, Any]) -> None:
        content = field_str(frame, "content", max_length=MAX_CONTENT_LENGTH)
        op_id = optional_id(frame)
        require_writer(client)
        await channel.append(client, "message", {"content": content}, op_id=op_id)

    @chat.on_message
    async def legacy_frame(channel: Channel, client: Session, frame: dict[str, Any]) -> None:
        """Base's pages send frame types of their own (`draw`, `clear`, `cursor_move`, …): relayed to
        the room as `{type, content, room, nickname}`, stored unless only transient."""
        frame_type = frame["type"]
        if not client.legacy_room:
            raise ProtocolError(f"unknown frame type {frame_type!r}")
        if len(frame_type) > LEGACY_MAX_TYPE:
            raise ProtocolError(f"frame type {frame_type!r} is longer than {LEGACY_MAX_TYPE} characters")
        if frame_type not in TRANSIENT_TYPES:
            check_event_type(frame_type)  # before the readonly check: refused for everyone, for its name
        require_writer(client)
        content = frame.get("content")
        if frame_type in TRANSIENT_TYPES:
            manager.relay(
                channel,
                {
                    "type": frame_type,
                    "content": content,
                    "nickname": client.user.name,
                    "user_id": client.user.id,
                },
            )
            return
        await channel.append(client, frame_type, {"content": content}, op_id=optional_id(frame))

    dm = manager.register_channel("dm")
    dm.presence = False

    @dm.authorizer
    def two_users_only(info: ChannelInfo | None, client: Session) -> None:
        direct.check_access(info, client)

    manager.recipients["dm"] = direct.recipients
