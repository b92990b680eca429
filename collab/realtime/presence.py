"""Who is in a channel, keyed by user id (several tabs of one user are one person).

A joiner gets the full list (`presence`); everyone gets the changes as `presence_diff` frames. Changes
are coalesced per channel for `FLUSH_DELAY` seconds, so 1,000 members joining at once cost each member
a frame or two, not a thousand. Base's clients (`room=`) get `users_update` with every nickname instead.
A user leaves when their last connection to the channel closes (no expiry timer: a closed socket is
noticed by the heartbeat).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from collab.realtime import base_compat
from collab.realtime.cluster_presence import ClusterPresence
from collab.realtime.session import Session

FLUSH_DELAY = 0.05


class Members(Protocol):
    """What presence needs of its channel (collab.realtime.channel.Channel)."""

    name: str
    clients: dict[str, Session]

    def send_to(self, client_id: str, data: dict[str, Any]) -> bool: ...

    def broadcast(self, data: dict[str, Any], exclude: str | None = None) -> None: ...


class Presence:
    def __init__(self, channel: Members, flushed: Callable[[Any], None], cluster: ClusterPresence) -> None:
        """`flushed(channel)` runs after each flush: the hub decides there whether the channel dies.
        `cluster` knows the channel's users on the other server processes."""
        self.channel = channel
        self._flushed = flushed
        self.cluster = cluster
        self.users: dict[str, dict[str, Any]] = {}
        self.connections: dict[str, int] = {}
        self._joined: dict[str, dict[str, Any]] = {}
        self._left: dict[str, dict[str, Any]] = {}
        self._newcomers: list[Session] = []
        # This process's own arrivals and departures since the last flush, for the other processes.
        self._local_joins: dict[str, dict[str, Any]] = {}
        self._local_leaves: set[str] = set()
        self._flush: asyncio.TimerHandle | None = None

    @property
    def pending(self) -> bool:
        return self._flush is not None

    def join(self, session: Session) -> None:
        user_id = session.user.id
        count = self.connections.get(user_id, 0)
        self.connections[user_id] = count + 1
        self._newcomers.append(session)
        if count == 0:
            public = session.user.public()
            self.users[user_id] = public
            self._local_leaves.discard(user_id)
            self._local_joins[user_id] = public
            if not self.cluster.has(self.channel.name, user_id):  # else present elsewhere already
                self._arrived(user_id, public)
        self._schedule()

    def leave(self, session: Session) -> None:
        user_id = session.user.id
        count = self.connections.get(user_id, 0) - 1
        if count > 0:
            self.connections[user_id] = count
            return
        self.connections.pop(user_id, None)
        public = self.users.pop(user_id, None) or session.user.public()
        if self._local_joins.pop(user_id, None) is None:
            self._local_leaves.add(user_id)
        if not self.cluster.has(self.channel.name, user_id):  # else still present elsewhere
            self._departed(user_id, public)
        self._schedule()

    def remote_changed(self, joins: list[dict[str, Any]], leaves: list[dict[str, Any]]) -> None:
        """Users arrived on, or left, every other process (collab.realtime.cluster_presence)."""
        for public in joins:
            if public["id"] not in self.users:
                self._arrived(public["id"], public)
        for public in leaves:
            if public["id"] not in self.users:
                self._departed(public["id"], public)
        if joins or leaves:
            self._schedule()

    def _arrived(self, user_id: str, public: dict[str, Any]) -> None:
        if user_id in self._left:
            del self._left[user_id]  # left and came back within one tick: no change
        else:
            self._joined[user_id] = public

    def _departed(self, user_id: str, public: dict[str, Any]) -> None:
        if self._joined.pop(user_id, None) is None:
            self._left[user_id] = public

    def _schedule(self) -> None:
        if self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(FLUSH_DELAY, self.flush)

    def flush(self) -> None:
        self._flush = None
        channel = self.channel
        joined, left, newcomers = self._joined, self._left, self._newcomers
        self._joined, self._left, self._newcomers = {}, {}, []
        if self._local_joins or self._local_leaves:
            self.cluster.announce(channel.name, list(self._local_joins.values()), sorted(self._local_leaves))
            self._local_joins, self._local_leaves = {}, set()
        users = self.snapshot()
        full = {"type": "presence", "channel": channel.name, "users": users}
        for session in newcomers:
            if session.id in channel.clients:
                channel.send_to(session.id, dict(full))
        if joined or left:
            fresh = {s.id for s in newcomers}
            diff = {
                "type": "presence_diff",
                "channel": channel.name,
                "joins": list(joined.values()),
                "leaves": sorted(left),
            }
            for client_id in list(channel.clients):
                if client_id not in fresh:
                    channel.send_to(client_id, dict(diff))
            names = [u["name"] for u in joined.values()]
            if names:
                channel.broadcast(
                    {
                        "type": "system",
                        "event": "join",
                        "content": _summary(names, "joined"),
                        "users": list(joined),
                    }
                )
            if left:
                channel.broadcast(
                    {
                        "type": "system",
                        "event": "leave",
                        "content": _summary([u["name"] for u in left.values()], "left"),
                        "users": sorted(left),
                    }
                )
        if (joined or left or newcomers) and any(c.legacy_room for c in channel.clients.values()):
            update = base_compat.users_update([u["name"] for u in users])
            for client in list(channel.clients.values()):
                if client.legacy_room:
                    channel.send_to(client.id, dict(update))
        self._flushed(channel)

    def snapshot(self) -> list[dict[str, Any]]:
        """Everyone present, on this process or another, once each."""
        return list({**self.cluster.users(self.channel.name), **self.users}.values())


def _summary(names: list[str], verb: str) -> str:
    if len(names) <= 3:
        return f"{', '.join(names)} {verb}"
    return f"{', '.join(names[:2])} and {len(names) - 2} others {verb}"
