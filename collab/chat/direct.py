"""Direct-message channels: who may read one, who is sent its events, and making one on a pair's first
message (the channel's name spells the pair: collab.chat.dm_names)."""

from __future__ import annotations

import asyncio

from collab.chat.dm_names import dm_channel, dm_readers
from collab.errors import Conflict, Forbidden
from collab.events import ChannelInfo, StoredEvent
from collab.realtime.hub import ChannelManager
from collab.realtime.session import Session


class DirectMessages:
    def __init__(self, manager: ChannelManager) -> None:
        self.manager = manager
        self._ready: dict[str, asyncio.Future[None]] = {}  # channels being made, by name

    @staticmethod
    def allowed(info: ChannelInfo | None, session: Session) -> bool:
        """Only the pair the channel's name spells reads it (and admins): not whoever else its stored
        members name (collab.chat.dm_names), and nobody before the first message."""
        if info is None:
            return False
        return session.user.is_admin or session.user.id in dm_readers(info.name, info.members)

    def check_access(self, info: ChannelInfo | None, session: Session) -> None:
        if not self.allowed(info, session):
            raise Forbidden("direct messages are readable by their two users only")

    async def channel_for(self, user_a: str, user_b: str) -> str:
        """The DM channel of two users, created (private, the two as members) on first use. Concurrent
        first messages of one pair wait on the same creation, so they keep their order."""
        name = dm_channel(user_a, user_b)
        ready = self._ready.get(name)
        if ready is None:
            ready = self._ready[name] = asyncio.ensure_future(self._create(name, {user_a, user_b}))
        if not ready.done():
            try:
                await asyncio.shield(ready)
            except Exception:
                self._ready.pop(name, None)
                raise
        return name

    async def _create(self, name: str, members: set[str]) -> None:
        store = self.manager.store
        info = await store.get_channel(name)
        if info is None:
            try:
                await store.create_channel(name, private=True, members=members)
                return
            except Conflict:
                info = await store.get_channel(name)
        for user_id in members - (info.members if info is not None else frozenset()):
            await store.add_member(name, user_id)

    def recipients(self, event: StoredEvent) -> set[Session]:
        """The sockets of a DM event's sender and addressee."""
        data = event.data if isinstance(event.data, dict) else {}
        users = {event.user_id, data.get("to")}
        found: set[Session] = set()
        for user_id in users:
            if user_id:
                found |= self.manager.sessions_of(user_id)
        return found
