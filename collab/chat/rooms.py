"""Chat rooms as users see them: the list (with unread counts), creation, private rooms, read positions
and receipts. Direct-message channels are collab.chat.direct's."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from collab.chat.room_list import MAX_LISTED, PlainList
from collab.errors import Conflict, LimitExceeded
from collab.events import ChannelInfo, StoredEvent
from collab.naming import channel_kind
from collab.realtime.channel import Channel
from collab.realtime.frames import json_frame
from collab.realtime.hub import ChannelManager
from collab.realtime.session import Session
from collab.store.positions import ReadPositions

log = logging.getLogger(__name__)

# How often clients hear of rooms that moved (`heads`) and get the room lists they are owed: one list
# per socket per interval at most, however many rooms were created meanwhile.
HEADS_INTERVAL = 1.0
# Rooms created on one server process are announced to the others on this relay channel.
ROOMS_RELAY = "_rooms"
# How old the `online` counts of the list every new user shares may be (see `Rooms._list`).
PLAIN_LIST_SECONDS = 0.5


# Chat rooms one user may make: with `create_room`, or by joining a name nobody used.
MAX_ROOMS_PER_USER = 100


class Rooms:
    def __init__(
        self, manager: ChannelManager, positions: ReadPositions, *, max_per_user: int = MAX_ROOMS_PER_USER
    ) -> None:
        self.manager = manager
        self.positions = positions
        self.max_per_user = max_per_user
        self.infos: dict[str, ChannelInfo] = {}
        # Rooms per user id that made them, as this process knows the rooms; and those being made.
        self._created: Counter[str] = Counter()
        self._making: Counter[str] = Counter()
        # Sockets owed a fresh `rooms` list, sent at the next tick of `run_heads`.
        self._owed: dict[str, Session] = {}
        self._moved: dict[str, int] = {}
        self._learning: dict[str, asyncio.Task[None]] = {}  # rooms another process made, being read
        # Rooms a joiner is making (`ensure`): the others joining them meanwhile wait for it instead of
        # each reading and trying to make the room again (ten joiners, one write).
        self._ensuring: dict[str, asyncio.Future[None]] = {}
        manager.relay_handlers[ROOMS_RELAY] = self._on_relay
        # Moves whenever a room comes, changes or its head moves: what the plain list is cached under.
        self._version = 0
        # The list of a user who sees the public rooms only and has read none (every new user), shared
        # by every such socket while the rooms stay as they are (see `_list`).
        self._plain: PlainList | None = None
        self._private: tuple[int, list[ChannelInfo]] = (-1, [])  # (version, the private rooms)

    async def load(self) -> None:
        for info in await self.manager.store.list_channels():
            if info.kind == "chat":
                self._remember(info)
                self.manager.heads[info.name] = max(self.manager.heads.get(info.name, 0), info.head)

    # -- rooms ---------------------------------------------------------------------------------

    def _remember(self, info: ChannelInfo) -> None:
        """A room this process did not know: listed from now on, and counted for its creator.

        A new public room leaves the plain list and the private rooms as they were but for itself: they
        move to the new version with it, where a storm of joins making a room every ten sockets rebuilt
        the shared list (a thousand rooms read, two hundred entries made) for every tenth socket."""
        new = info.name not in self.infos
        if new and info.created_by is not None:
            self._created[info.created_by] += 1
        self.infos[info.name] = info
        was = self._version
        self._version += 1
        if not new or info.private:
            return
        plain = self._plain
        if plain is not None and plain.version == was and not (info.head or self.manager.heads.get(info.name)):
            self._plain = plain.with_room(info, self._entry(info, {}), self._version)
        if self._private[0] == was:
            self._private = (self._version, self._private[1])

    @contextlib.contextmanager
    def _one_more_room(self, user_id: str) -> Iterator[None]:
        """Around the making of a room by `user_id`: `limit_exceeded` when they have made `max_per_user`
        rooms (counting those being made: concurrent creations cannot slip past the cap)."""
        made = self._created[user_id] + self._making[user_id]
        if made >= self.max_per_user:
            raise LimitExceeded(
                f"a user may make {self.max_per_user} rooms (create_room, or joining a name nobody used);"
                f" {user_id!r} has made {made}"
            )
        self._making[user_id] += 1
        try:
            yield
        finally:
            self._making[user_id] -= 1
            if not self._making[user_id]:
                del self._making[user_id]

    @staticmethod
    def _can_see(info: ChannelInfo, session: Session) -> bool:
        user = session.user
        return not info.private or user.id in info.members or user.is_admin

    def visible_to(self, session: Session) -> list[ChannelInfo]:
        return [info for info in self.infos.values() if self._can_see(info, session)]

    def _entry(self, info: ChannelInfo, read: dict[str, int]) -> dict[str, Any]:
        """One room as a `rooms` list (and `room_added`) shows it to a user with read positions `read`."""
        head = max(self.manager.heads.get(info.name, 0), info.head)
        channel = self.manager.channels.get(info.name)
        return {
            "name": info.name,
            "private": info.private,
            "seq": head,
            "unread": max(0, head - read.get(info.name, 0)),
            "last_read": read.get(info.name, 0),
            "online": len(channel.presence.users) if channel is not None else 0,
        }

    async def send_list(self, session: Session, *, new_user: bool = False) -> None:
        """Send `session` its `rooms` list. A user made for this very connection (a new guest) has
        read nothing yet: its read positions are not asked for."""
        read = {} if new_user else await self.positions.of_user(session.user.id)
        self._send_list(session, read)

    def _send_list(self, session: Session, read: dict[str, int]) -> None:
        frame = self._list(session, read)
        plain = self._plain
        if plain is not None and frame is plain.frame and not session.legacy_room:
            session.send_wire(plain.wire)  # the shared list, encoded once
        else:
            session.send(frame)

    def _list(self, session: Session, read: dict[str, int]) -> dict[str, Any]:
        """The `rooms` frame for `session`: the rooms its user can see, at most `MAX_LISTED` (those
        the user has read in first, then the most active), by name, with `total` visible.

        Every new user (public rooms only, none read) gets the same list: it is built once and shared
        while no room comes, changes or moves (10,000 sockets connecting over 1,000 rooms built 200
        entries and a names set each), its `online` counts at most PLAIN_LIST_SECONDS old."""
        user = session.user
        plain = not read and not user.is_admin and not any(user.id in info.members for info in self._privates())
        cached = self._plain if plain else None
        if cached is not None and cached.version == self._version:
            if cached.listed is not None:
                session.set_attr("listed_rooms", cached.listed)
            if time.monotonic() < cached.expires:
                return cached.frame
            shown, listed, total = cached.shown, cached.listed, cached.total
        else:
            visible = self.visible_to(session)
            total = len(visible)
            if total <= MAX_LISTED:
                shown, listed = sorted(visible, key=lambda i: i.name), None
            else:
                shown, listed = self._cut(visible, read)
                # What `push_heads` reports to this client; kept only when the list is cut.
                session.set_attr("listed_rooms", listed)
        rooms = [self._entry(info, read) for info in shown]
        if plain:
            self._plain = PlainList(self._version, time.monotonic() + PLAIN_LIST_SECONDS, shown, listed, rooms, total)
            return self._plain.frame
        return {"type": "rooms", "rooms": rooms, "total": total}

    def _cut(self, visible: list[ChannelInfo], read: dict[str, int]) -> tuple[list[ChannelInfo], frozenset[str]]:
        """The MAX_LISTED rooms a list shows (read ones first, then the most active), by name, and
        their names."""
        heads = self.manager.heads
        top = heapq.nsmallest(
            MAX_LISTED, visible, key=lambda i: (i.name not in read, -max(heads.get(i.name, 0), i.head))
        )
        top.sort(key=lambda i: i.name)
        return top, frozenset(info.name for info in top)

    def _privates(self) -> list[ChannelInfo]:
        version, private = self._private
        if version != self._version:
            private = [info for info in self.infos.values() if info.private]
            self._private = (self._version, private)
        return private

    def update_members(self, info: ChannelInfo) -> None:
        """A known room's members changed (an operator's doing): its info as it is now."""
        if info.name in self.infos:
            self.infos[info.name] = info
            self._version += 1

    async def announce_list(self) -> None:
        """The list changed (an operator changed a room's members): everyone gets theirs again, at the
        next tick (each user's differs: private rooms, unread)."""
        self.owe_list(self.manager.sessions.values())

    def owe_list(self, sessions: Iterable[Session]) -> None:
        """These sockets get their list at the next tick: once, however many changes came meanwhile."""
        for session in sessions:
            self._owed[session.id] = session

    async def push_lists(self) -> None:
        """Send every socket owed a list its list. One query for everyone's read positions."""
        if not self._owed:
            return
        owed, self._owed = self._owed, {}
        sessions = [session for session in owed.values() if self.manager.sessions.get(session.id) is session]
        try:
            positions = await self.positions.of_users({session.user.id for session in sessions})
        except Exception:
            self.owe_list(sessions)  # the next tick tries again
            raise
        for session in sessions:
            self._send_list(session, positions.get(session.user.id, {}))

    def _announce_room(self, info: ChannelInfo, creator: Session | None = None) -> None:
        """A room came to exist. A socket that can see it gets `room_added` now if it takes changes
        (`room_changes`), else its whole list at the next tick, so that creating rooms costs every
        other socket a small frame, or one list per tick, not a list per room."""
        for session in list(self.manager.sessions.values()):
            if session is creator or not self._can_see(info, session):
                continue
            if not session.get_attr("room_changes"):
                self._owed[session.id] = session
                continue
            listed = session.get_attr("listed_rooms")
            if listed is not None:  # its list is cut at MAX_LISTED: `push_heads` reports this room too
                session.set_attr("listed_rooms", listed | {info.name})
            session.send({"type": "room_added", "room": self._entry(info, {})})

    async def create(
        self, session: Session, name: str, *, private: bool = False, members: list[str] | tuple[str, ...] = ()
    ) -> ChannelInfo:
        """Store a new room; its creator gets their list at once, everyone else hears of it (see
        `_announce_room`). A user who has made `max_per_user` rooms is refused (`limit_exceeded`)."""
        user_id = session.user.id
        member_set = set(members) | {user_id} if private else set()
        making = self._ensuring.get(name)
        if making is not None:
            # Someone is joining it into existence: the name is in use once that is done (a conflict
            # below), not up for grabs while it is being done.
            await asyncio.wait([making])
        with self._one_more_room(user_id):
            try:
                info = await self.manager.store.create_channel(
                    name, created_by=user_id, private=private, members=member_set
                )
            except Conflict:
                # A room exists once anyone has joined it (connecting or subscribing) or written to it, so
                # a private room is never made over a name its followers would go on reading.
                raise Conflict(f"room {name!r} is in use already (joined or written to): pick another name") from None
        self._remember(info)
        self.manager.broker.relay(ROOMS_RELAY, {"name": name})
        await self.send_list(session)
        self._announce_room(info, creator=session)
        return info

    async def ensure(self, name: str, session: Session) -> ChannelInfo | None:
        """Joining a room that does not exist yet creates it (public), as chat users expect. The room as
        it is then: the joiner's (public) or, made meanwhile by someone else, theirs (maybe private).
        A joiner who has made `max_per_user` rooms makes no more (`limit_exceeded`: the join fails)."""
        if channel_kind(name) != "chat":
            return None
        while True:
            known = self.infos.get(name)
            if known is not None:
                return known
            making = self._ensuring.get(name)
            if making is None:
                break
            # Another joiner is reading or making it: its outcome, whatever it is, then look again (a
            # joiner it failed for, such as one at its room limit, leaves the making to the next).
            await asyncio.wait([making])
        done = self._ensuring[name] = asyncio.get_running_loop().create_future()
        try:
            info = await self.manager.store.get_channel(name)
            if info is None:
                with self._one_more_room(session.user.id):
                    try:
                        info = await self.manager.store.create_channel(name, created_by=session.user.id)
                    except Conflict:
                        info = await self.manager.store.get_channel(name)
            if info is not None:
                # Not announced to everyone at once (10,000 sockets joining 1,000 rooms would each get
                # 1,000 lists): the next `heads` push names the new room, and clients ask for the list.
                self._remember(info)
                self._moved.setdefault(name, info.head)
            return info
        finally:
            del self._ensuring[name]
            done.set_result(None)

    def info(self, name: str) -> ChannelInfo | None:
        return self.infos.get(name)

    # -- activity ------------------------------------------------------------------------------

    def on_event(self, event: StoredEvent) -> None:
        """A committed event (hub listener): remember that the room's head moved. A chat room this
        process has not heard of was made by another one: read it (its `rooms` relay may have been lost)."""
        if event.channel in self.infos:
            self._moved[event.channel] = event.seq
            self._version += 1
        elif channel_kind(event.channel) == "chat":
            self._learn(event.channel, announce=False)

    def _on_relay(self, frame: dict[str, Any]) -> None:
        name = frame.get("name")
        if isinstance(name, str) and channel_kind(name) == "chat" and name not in self.infos:
            self._learn(name, announce=True)

    def _learn(self, name: str, *, announce: bool) -> None:
        if name not in self._learning:
            task = asyncio.ensure_future(self._read_room(name, announce))
            self._learning[name] = task
            task.add_done_callback(lambda _: self._learning.pop(name, None))

    async def _read_room(self, name: str, announce: bool) -> None:
        """A room another process made: known here from now on, and listed (or its head pushed)."""
        info = await self.manager.store.get_channel(name)
        if info is None or name in self.infos:
            return
        self._remember(info)
        self._moved[name] = info.head
        if announce:
            self._announce_room(info)

    def push_heads(self) -> None:
        """Tell every client the new heads of the rooms it can see (at most once per `HEADS_INTERVAL`),
        so unread counts move for rooms it is not in: unread = head - last_read from `rooms`."""
        if not self._moved:
            return
        moved, self._moved = self._moved, {}
        everything = len(self.infos) <= MAX_LISTED
        private = [name for name in moved if self.infos[name].private]
        public = {name: seq for name, seq in moved.items() if not self.infos[name].private}
        # A storm of joins moves rooms on every tick, and ten thousand clients would each pick and encode
        # the same frame. A socket that sees no moved private room gets one of a few shared frames: every
        # public room that moved (a whole list), or those of its cut list, mostly shared too (every new
        # user's is the same set; keyed by its id: the sessions keep it alive).
        shared_frames: dict[int | None, bytes | None] = {}
        for session in list(self.manager.sessions.values()):
            listed = session.get_attr("listed_rooms")
            # With more rooms than a list shows, only the rooms in the client's list: else each client
            # would hear of every room's every message.
            whole = everything or listed is None
            if not session.legacy_room and not any(self._can_see(self.infos[n], session) for n in private):
                key = None if whole else id(listed)
                if key not in shared_frames:
                    told = public if whole else {name: seq for name, seq in public.items() if name in listed}
                    shared_frames[key] = json_frame({"type": "heads", "heads": told}) if told else None
                wire = shared_frames[key]
                if wire is not None:
                    session.send_wire(wire)
                continue
            heads = {
                name: seq
                for name, seq in moved.items()
                if (whole or name in listed) and self._can_see(self.infos[name], session)
            }
            if heads:
                session.send({"type": "heads", "heads": heads})

    async def run_heads(self) -> None:
        """Every `HEADS_INTERVAL`: the lists owed (first, so that a room they add is known when `heads`
        names it), then the heads that moved."""
        while True:
            await asyncio.sleep(HEADS_INTERVAL)
            try:
                await self.push_lists()
            except Exception:
                log.exception("room lists could not be sent; trying again at the next tick")
            self.push_heads()

    # -- read positions ------------------------------------------------------------------------

    async def mark_read(self, session: Session, channel: Channel, seq: int) -> None:
        head = self.manager.heads.get(channel.name, 0)
        position = await self.positions.mark(channel.name, session.user.id, min(seq, head))
        self.manager.relay(
            channel,
            {
                "type": "read",
                "channel": channel.name,
                "user_id": session.user.id,
                "nickname": session.user.name,
                "seq": position,
            },
        )
        # Its unread counts changed: the user's sockets get their lists at the next tick (a flood of
        # `read` frames costs a list per socket per tick, not one per frame).
        self.owe_list(self.manager.sessions_of(session.user.id))
