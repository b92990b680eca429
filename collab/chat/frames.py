"""Chat's frames that are not for one channel: direct messages and their list, creating and listing
rooms, read receipts. Registered on the dispatcher by `register_chat_frames`, as boards and documents
register theirs."""

from __future__ import annotations

from typing import Any

from collab.chat.conversations import Conversations, check_limit
from collab.chat.direct import DirectMessages
from collab.chat.rooms import Rooms
from collab.errors import Forbidden, NotFound, ProtocolError
from collab.naming import channel_kind, check_channel_name
from collab.realtime.dispatch import Dispatcher, require_writer
from collab.realtime.hub import ChannelManager
from collab.realtime.protocol import MAX_CONTENT_LENGTH, field_str, optional_id
from collab.realtime.session import Session
from collab.values import check_text


class ChatFrames:
    """The handlers; `manager` finds clients and channels, `rooms` owns rooms and read positions,
    `direct` makes DM channels, `conversations` lists a user's DMs."""

    def __init__(
        self, manager: ChannelManager, rooms: Rooms, direct: DirectMessages, conversations: Conversations
    ) -> None:
        self.manager = manager
        self.rooms = rooms
        self.direct = direct
        self.conversations = conversations

    async def private(self, session: Session, frame: dict[str, Any]) -> None:
        target = field_str(frame, "target", max_length=220)
        content = check_text(field_str(frame, "content", max_length=MAX_CONTENT_LENGTH), "content")
        op_id = optional_id(frame)
        require_writer(session)
        if target.startswith("user:"):
            target_user = target[5:]
            if not target_user:
                raise ProtocolError("target 'user:' names no user")
            check_text(target_user, "target")  # before the conversation is made: a refusal changes nothing
        else:
            other = self.manager.sessions.get(target)
            if other is None:
                raise NotFound(f"no client {target!r} is connected")
            target_user = other.user.id
        name = await self.direct.channel_for(session.user.id, target_user)
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
        if not isinstance(members, list) or not all(isinstance(m, str) and 0 < len(m) <= 200 for m in members):
            raise ProtocolError("field 'members' must be a list of user ids (1-200 characters each)")
        for member in members:
            check_text(member, "members")  # stored as rows of their own, not in an event
        require_writer(session)
        await self.rooms.create(session, name, private=private, members=members)

    async def list_rooms(self, session: Session, frame: dict[str, Any]) -> None:
        await self.rooms.send_list(session)

    async def list_dms(self, session: Session, frame: dict[str, Any]) -> None:
        limit = check_limit(frame.get("limit"))
        before = frame.get("before")
        if before is not None and not isinstance(before, str):
            raise ProtocolError("field 'before' must be the 'next' of an earlier 'dms' frame")
        session.send(await self.conversations.frame(session.user.id, limit=limit, before=before))

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


def register_chat_frames(
    dispatcher: Dispatcher,
    manager: ChannelManager,
    rooms: Rooms,
    direct: DirectMessages,
    conversations: Conversations,
) -> None:
    frames = ChatFrames(manager, rooms, direct, conversations)
    dispatcher.on_frame("private", frames.private)
    dispatcher.on_frame("create_room", frames.create_room)
    dispatcher.on_frame("list_rooms", frames.list_rooms)
    dispatcher.on_frame("list_dms", frames.list_dms)
    dispatcher.on_frame("read", frames.read)
