"""Who is in each channel on the other server processes, learnt through the broker's relays.

Each process knows its own members (collab.realtime.presence) and tells the others through relayed frames
on a relay channel of their own (`PRESENCE_RELAY`; never stored, at most once):

- `join` / `leave` when a user's first connection to a channel opens or last one closes here;
- `here` every `HEARTBEAT_SECONDS` for every channel with members here, which refreshes them;
- `hello` when a process starts: the others answer with `here` at once, so it learns the current
  presence without waiting for a heartbeat.

What another process said expires `EXPIRE_SECONDS` after it was last said: a process that dies (or is
cut off) stops refreshing, and its users leave everyone's presence within that bound plus one sweep
(`SWEEP_SECONDS`), about 11 s — and a lost `leave` costs the same delay, never a ghost for good. A user
with connections on two processes is one person: a process reports a remote user's arrival or
departure only when no other process (and not itself) still has them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger(__name__)

PRESENCE_RELAY = "_presence"
HEARTBEAT_SECONDS = 4.0
EXPIRE_SECONDS = 10.0
SWEEP_SECONDS = 1.0
CHUNK = 40  # users per relayed frame: a frame must fit a notification's payload

Public = dict[str, Any]
# (channel, users that became present on other processes, users no other process has any more)
Changed = Callable[[str, list[Public], list[Public]], None]


class ClusterPresence:
    """The other processes' members per channel (see the module docstring)."""

    def __init__(self, relay: Callable[[str, dict], None], node: str, *, alone: bool = False) -> None:
        self._relay = relay
        self.node = node
        # The only process (the in-process broker): nobody to tell, so nothing is sent (a heartbeat
        # walked every channel's members every few seconds to tell nobody).
        self.alone = alone
        self.changed: Changed = lambda channel, joins, leaves: None
        self.local: Callable[[], Iterable[tuple[str, list[Public]]]] = list
        # channel → node → user id → (public, expires at)
        self._remote: dict[str, dict[str, dict[str, tuple[Public, float]]]] = {}
        self.nodes_seen: dict[str, float] = {}  # node → when it was last heard (for the monitor)

    # -- what the hub asks -----------------------------------------------------------------------

    def users(self, channel: str) -> dict[str, Public]:
        """The users present on other processes, one entry per user."""
        merged: dict[str, Public] = {}
        for users in self._remote.get(channel, {}).values():
            for user_id, (public, _) in users.items():
                merged.setdefault(user_id, public)
        return merged

    def has(self, channel: str, user_id: str) -> bool:
        return any(user_id in users for users in self._remote.get(channel, {}).values())

    # -- telling the others ----------------------------------------------------------------------

    def announce(self, channel: str, joins: list[Public], leaves: list[str]) -> None:
        """This process's members of `channel` changed."""
        if self.alone:
            return
        for start in range(0, len(joins), CHUNK):
            self._send({"t": "join", "c": channel, "u": joins[start : start + CHUNK]})
        for start in range(0, len(leaves), CHUNK):
            self._send({"t": "leave", "c": channel, "u": leaves[start : start + CHUNK]})

    def heartbeat(self) -> None:
        if self.alone:
            return
        for channel, users in self.local():
            for start in range(0, len(users), CHUNK):
                self._send({"t": "here", "c": channel, "u": users[start : start + CHUNK]})

    def hello(self) -> None:
        self._send({"t": "hello"})

    def _send(self, frame: dict[str, Any]) -> None:
        if not self.alone:
            self._relay(PRESENCE_RELAY, {**frame, "n": self.node})

    # -- hearing the others ----------------------------------------------------------------------

    def receive(self, frame: dict[str, Any]) -> None:
        node = frame.get("n")
        if not isinstance(node, str) or node == self.node:
            return
        self.nodes_seen[node] = time.monotonic()
        kind, channel, users = frame.get("t"), frame.get("c"), frame.get("u")
        if kind == "hello":
            self.heartbeat()
            return
        if not isinstance(channel, str) or not isinstance(users, list):
            return
        if kind in ("join", "here"):
            self._arrive(channel, node, [u for u in users if isinstance(u, dict) and isinstance(u.get("id"), str)])
        elif kind == "leave":
            self._depart(channel, node, [u for u in users if isinstance(u, str)])

    def _arrive(self, channel: str, node: str, users: list[Public]) -> None:
        expires = time.monotonic() + EXPIRE_SECONDS
        nodes = self._remote.setdefault(channel, {})
        mine = nodes.setdefault(node, {})
        joined = []
        for public in users:
            user_id = public["id"]
            if user_id not in mine and not self.has(channel, user_id):
                joined.append(public)
            mine[user_id] = (public, expires)
        if joined:
            self.changed(channel, joined, [])

    def _depart(self, channel: str, node: str, user_ids: list[str]) -> None:
        nodes = self._remote.get(channel)
        mine = nodes.get(node) if nodes else None
        if not mine:
            return
        left = []
        for user_id in user_ids:
            gone = mine.pop(user_id, None)
            if gone is not None and not self.has(channel, user_id):
                left.append(gone[0])
        self._forget_empty(channel, node)
        if left:
            self.changed(channel, [], left)

    def sweep(self, now: float | None = None) -> None:
        """Drop what was not refreshed in time (a process that died or was cut off)."""
        now = time.monotonic() if now is None else now
        for channel in list(self._remote):
            for node in list(self._remote[channel]):
                users = self._remote[channel][node]
                stale = [user_id for user_id, (_, expires) in users.items() if expires <= now]
                if stale:
                    log.info("presence: %d users of %s on node %s expired", len(stale), channel, node)
                    self._depart(channel, node, stale)

    def _forget_empty(self, channel: str, node: str) -> None:
        nodes = self._remote.get(channel)
        if nodes is not None and not nodes.get(node):
            nodes.pop(node, None)
            if not nodes:
                del self._remote[channel]

    async def run(self) -> None:
        """Say hello, then heartbeat and sweep until cancelled."""
        self.hello()
        last_beat = time.monotonic()
        self.heartbeat()
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            self.sweep()
            if time.monotonic() - last_beat >= HEARTBEAT_SECONDS:
                last_beat = time.monotonic()
                self.heartbeat()
