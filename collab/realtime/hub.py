"""Channels and the clients in them: the registry of channel kinds (their hooks: collab.realtime.kinds),
membership, resume, fan-out.

Every built-in kind (chat, kanban, draw, monitor, media) is written against the same small API a
module uses to add its own:

    manager = ChannelManager(store)
    echo = manager.register_channel("echo")

    @echo.on_message("shout")
    async def shout(channel, client, frame):
        channel.broadcast({"type": "shout", "text": frame["text"].upper()}, exclude=client.id)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from collab.errors import Forbidden, ProtocolError
from collab.events import Appended, ChannelInfo, NewEvent, StoredEvent
from collab.naming import channel_kind, check_channel_name
from collab.realtime import base_compat
from collab.realtime.broker import Broker, InProcessBroker
from collab.realtime.channel import Channel
from collab.realtime.cluster_presence import PRESENCE_RELAY, ClusterPresence
from collab.realtime.connection import CloseCode
from collab.realtime.frames import json_frame
from collab.realtime.kinds import ChannelKind
from collab.realtime.protocol import error_frame, event_frame
from collab.realtime.recent import RecentEvents
from collab.realtime.replay import replay
from collab.realtime.session import Session
from collab.store.base import EventStore

log = logging.getLogger(__name__)


class ChannelManager:
    """Owns the channels of this process, the registry of kinds and the delivery of events."""

    def __init__(self, store: EventStore, broker: Broker | None = None, *, replay_batch: int = 1000) -> None:
        self.store = store
        self.broker = broker or InProcessBroker()
        self.broker.subscribe(self._deliver_event, self._deliver_relay)
        # Who is where on the other server processes; `run_cluster_presence` keeps it current.
        self.cluster = ClusterPresence(self.broker.relay, self.broker.node, alone=self.broker.kind == "memory")
        self.cluster.changed = self._cluster_changed
        self.cluster.local = self._local_presence
        # Relayed frames that are for this process, not for a channel's clients (by relay channel name).
        self.relay_handlers: dict[str, Callable[[dict[str, Any]], None]] = {PRESENCE_RELAY: self.cluster.receive}
        self.replay_batch = replay_batch
        self.kinds: dict[str, ChannelKind] = {}
        self.channels: dict[str, Channel] = {}
        self.sessions: dict[str, Session] = {}
        # A user's sessions as a tuple: most users have one socket, and a tuple of one is 48 bytes where
        # a set of one is 216 (ten thousand idle sockets); a user has at most a few dozen (the budgets).
        self.sessions_by_user: dict[str, tuple[Session, ...]] = {}
        # Extra recipients of a channel's events beyond its members (a DM reaches both users' sockets).
        self.recipients: dict[str, Callable[[StoredEvent], set[Session]]] = {}
        self.heads: dict[str, int] = {}
        self.recent = RecentEvents()
        self.messages_out = 0
        # Called with every committed event this process delivers, in seq order per channel: of every
        # channel, or (`listen_to`) of the channels of one kind only.
        self.event_listeners: list[Callable[[StoredEvent], None]] = []
        self.kind_listeners: dict[str, list[Callable[[StoredEvent], None]]] = {}
        # Awaited by Engine.close() before the store closes (final snapshots, …).
        self.shutdown_hooks: list[Callable[[], Awaitable[None]]] = []
        # Set by close_all (code, reason): a socket still joining then (its welcome may be sent already,
        # but it is not in `sessions` yet) is closed as soon as it is added.
        self.closing: tuple[int, str] | None = None

    # -- registry --------------------------------------------------------------------------------

    def register_channel(self, kind: str) -> ChannelKind:
        if kind in self.kinds:
            return self.kinds[kind]
        registered = self.kinds[kind] = ChannelKind(kind)
        return registered

    def kind_of(self, name: str) -> ChannelKind:
        kind = self.kinds.get(channel_kind(name))
        if kind is None:
            raise ProtocolError(f"unknown channel kind {channel_kind(name)!r}")
        return kind

    def channel(self, name: str) -> Channel:
        found = self.channels.get(name)
        if found is None:
            found = self.channels[name] = Channel(self, name, self.kind_of(name))
        return found

    # -- sessions --------------------------------------------------------------------------------

    def add_session(self, session: Session) -> None:
        self.sessions[session.id] = session
        same_user = self.sessions_by_user.get(session.user.id, ())
        if session not in same_user:
            self.sessions_by_user[session.user.id] = (*same_user, session)
        if self.closing is not None:
            # close_all has run without it: close it the same way (after what is queued for it).
            session.close_soon(*self.closing, flush=True)

    async def remove_session(self, session: Session) -> None:
        for name in list(session.channels):
            await self.leave(session, name)
        self.sessions.pop(session.id, None)
        same_user = self.sessions_by_user.get(session.user.id)
        if same_user is not None:
            others = tuple(other for other in same_user if other is not session)
            if others:
                self.sessions_by_user[session.user.id] = others
            else:
                del self.sessions_by_user[session.user.id]

    async def join(
        self,
        session: Session,
        name: str,
        since: int | None,
        *,
        announce: Callable[[int], None] | None = None,
    ) -> Channel:
        """Add `session` to channel `name`; replay what it missed after `since`, then live events.

        The race between replay and live events: the session is registered as catching up *before* the
        store is read, so an event committed after a read is delivered live into a holding buffer; the
        buffer is released after the replay, and `Session.deliver` drops seqs sent already.
        `announce(head)` runs before any replayed frame (it sends `welcome` or `subscribed`; a `/ws`
        socket is registered in it too, so that what reaches the client beyond this channel, a
        broadcast, a DM, a kick, finds it from its welcome on: `Engine.connect`).

        Access is settled before anything live is released: a channel that did not exist when its
        record was read is made to exist (`ChannelKind.ensure`) and the joiner must pass the record it
        has then — someone may have made it private meanwhile; and a joiner that `update_access` put out
        meanwhile is refused. `Forbidden` (after `announce` in these two cases) when it may not join.
        """
        check_channel_name(name)
        kind = self.kind_of(name)
        channel = self.channel(name)
        holding: list[tuple[int, bytes]] = []
        session.holding[name] = holding
        channel.clients[session.id] = session
        session.channels.add(name)
        # The head as this process knows it at the moment the client joins. A fresh client is owed
        # every event after it, even one sent while the store is being asked below: those arrive live
        # (held meanwhile) or are read back, never silently skipped.
        joined_at = self.heads.get(name)
        try:
            known = kind.known(name) if kind.known is not None and joined_at is not None else None
            if known is not None:
                # Nothing to read: the record is kept current here, and so is the head (every committed
                # event reaches this process in seq order; those after `joined_at` come live, held).
                info, head = known, joined_at
            else:
                info = await self.store.get_channel(name)
                # The record carries the head it was read with: one read where there were two. A head
                # lives on its channel's record (every append writes both in one transaction), so a
                # channel with no record had no event when it was read.
                head = info.head if info is not None else 0
            if kind.authorize is not None:
                kind.authorize(info, session)
            self.heads[name] = max(self.heads.get(name, 0), head)
            if since is not None:
                start = since
            elif joined_at is not None:
                start = min(joined_at, head)
            elif holding:
                # New to this process: what was published since the client registered is held, and
                # publishing follows seq order, so everything before the first held seq came earlier.
                start = min(head, holding[0][0] - 1)
            else:
                start = head
            if announce is not None:
                announce(head if since is not None else start)
            session.positions[name] = start
            if start < head:
                await self._replay(session, channel, start, head)
            if kind.ensure is not None:
                settled = await kind.ensure(name, session)
                if info is None and settled is not None and kind.authorize is not None:
                    kind.authorize(settled, session)
            if channel.clients.get(session.id) is not session:
                raise Forbidden(channel.put_out.pop(session.id, f"no longer admitted to {name!r}"))
        except BaseException:
            channel.put_out.pop(session.id, None)
            channel.clients.pop(session.id, None)
            session.channels.discard(name)
            session.positions.pop(name, None)
            self.drop_if_idle(channel)
            raise
        finally:
            session.holding.pop(name, None)
        for seq, wire in holding:
            session.deliver(name, seq, wire)
        if kind.presence:
            channel.presence.join(session)
        for hook in kind.connect_hooks:
            await hook(channel, session)
        return channel

    async def _replay(self, session: Session, channel: Channel, since: int, head: int) -> None:
        provider = channel.kind.state_provider
        await replay(
            session,
            channel.name,
            since,
            head,
            store=self.store,
            recent=self.recent,
            batch=self.replay_batch,
            frame_for=self.frame_for,
            state=(lambda: provider(channel)) if provider is not None else None,
        )

    async def leave(self, session: Session, name: str) -> None:
        channel = self.channels.get(name)
        session.channels.discard(name)
        session.positions.pop(name, None)
        if channel is None or channel.clients.pop(session.id, None) is None:
            return
        if channel.kind.presence:
            channel.presence.leave(session)
        for hook in channel.kind.disconnect_hooks:
            try:
                await hook(channel, session)
            except Exception:
                log.exception("on_disconnect hook of %s failed", name)
        self.drop_if_idle(channel)

    async def update_access(self, info: ChannelInfo, reason: str | None = None) -> list[str]:
        """Channel `info.name`'s record changed (a member removed, say): every client here its kind no
        longer admits leaves it, so that nothing more of it reaches them and they write nothing
        more to it. A socket whose own channel it is closes with 1008 after an `error`; one that had
        subscribed gets `unsubscribed` with the `reason`; one still joining is refused by its join.
        Returns the ids of the sockets closed."""
        channel = self.channels.get(info.name)
        authorize = channel.kind.authorize if channel is not None else None
        if channel is None or authorize is None:
            return []
        closed = []
        for session in list(channel.clients.values()):
            try:
                authorize(info, session)
                continue
            except Forbidden as refusal:
                text = reason or str(refusal)
            if info.name in session.holding:
                channel.clients.pop(session.id, None)  # its join notices and refuses it
                channel.put_out[session.id] = text
                continue
            await self.leave(session, info.name)
            if session.get_attr("home") == info.name:
                session.send(error_frame("forbidden", text))
                session.close_soon(CloseCode.POLICY_VIOLATION, text)
                closed.append(session.id)
            else:
                session.send({"type": "unsubscribed", "channel": info.name, "reason": text})
            log.info("access: client=%s user=%s out of %s: %s", session.id, session.user.id, info.name, text)
        return closed

    def listen_to(self, kind: str, listener: Callable[[StoredEvent], None]) -> None:
        """Call `listener` with every committed event of a channel of `kind` (as `event_listeners` are
        called with all): a chat message is not offered to the boards' projections one by one."""
        self.kind_listeners.setdefault(kind, []).append(listener)

    def drop_if_idle(self, channel: Channel) -> None:
        """Forget a channel nobody is in once its last presence change has gone out. The one place a
        channel dies: presence calls it after a flush, `join` and `leave` after a client goes."""
        if not channel.clients and not channel.presence.pending and self.channels.get(channel.name) is channel:
            del self.channels[channel.name]

    # -- delivery --------------------------------------------------------------------------------

    async def append(self, event: NewEvent) -> Appended:
        """Store an event, then publish it to every process (and so to the clients) when it is new: the
        one way the server's own events (alerts, media, moderation) and its clients' reach the sockets."""
        appended = await self.store.append(event)
        if appended.new:
            self.broker.publish(appended.event)
        return appended

    def frame_for(self, session: Session, event: StoredEvent) -> dict[str, Any]:
        frame = event_frame(event)
        if session.legacy_room:
            return base_compat.with_room(frame, event.channel)
        return frame

    def _deliver_event(self, event: StoredEvent) -> None:
        """A committed event, from the broker: encode once, queue to every recipient in this process."""
        name = event.channel
        if event.seq > self.heads.get(name, 0):
            self.heads[name] = event.seq
        kind = channel_kind(name)
        for listener in self.event_listeners:
            listener(event)
        for listener in self.kind_listeners.get(kind, ()):
            listener(event)
        channel = self.channels.get(name)
        targets: set[Session] | dict[str, Session]
        extra = self.recipients.get(kind)
        if extra is not None:
            targets = extra(event)
            if channel is not None:
                targets = targets | set(channel.clients.values())
        elif channel is not None:
            targets = channel.clients
        else:
            return
        frame = event_frame(event)
        wire = json_frame(frame)
        seq = event.seq
        self.recent.add(name, seq, wire)
        legacy: bytes | None = None
        sessions = list(targets.values() if isinstance(targets, dict) else targets)
        for session in sessions:
            # The loop runs for every socket of the channel: the usual client (no Base frames, nothing
            # held) costs two attribute reads and the delivery.
            if session.legacy_room or session.holding:
                body = wire
                if session.legacy_room:
                    legacy = legacy or json_frame(base_compat.with_room(frame, name))
                    body = legacy
                holding = session.holding
                if name in holding:
                    holding[name].append((seq, body))
                    continue
                session.deliver(name, seq, body)
            else:
                session.deliver(name, seq, wire)
        self.messages_out += len(sessions)

    def _deliver_relay(self, name: str, frame: dict[str, Any]) -> None:
        handler = self.relay_handlers.get(name)
        if handler is not None:
            handler(frame)
            return
        channel = self.channels.get(name)
        if channel is not None:
            exclude = frame.pop("_exclude", None)
            channel.broadcast(frame, exclude=exclude)

    def _cluster_changed(self, name: str, joins: list[dict[str, Any]], leaves: list[dict[str, Any]]) -> None:
        channel = self.channels.get(name)
        if channel is not None and channel.kind.presence:
            channel.presence.remote_changed(joins, leaves)

    def _local_presence(self) -> list[tuple[str, list[dict[str, Any]]]]:
        return [
            (name, list(channel.presence.users.values()))
            for name, channel in self.channels.items()
            if channel.presence.users
        ]

    def relay(self, channel: Channel, frame: dict[str, Any], exclude: str | None = None) -> None:
        """Send a frame that is not stored to the channel's clients in every process."""
        frame.setdefault("channel", channel.name)
        if exclude is not None:
            frame["_exclude"] = exclude
        self.broker.relay(channel.name, frame)

    def sessions_of(self, user_id: str) -> set[Session]:
        return set(self.sessions_by_user.get(user_id, ()))

    async def close_all(self, code: int, reason: str) -> None:
        """Shutdown: flush every outbox, then close each socket with `code`. Sockets added later (they
        were still joining) are closed by `add_session`; aiohttp waits for their handlers."""
        self.closing = (code, reason)
        sessions = list(self.sessions.values())
        await asyncio.gather(*(s.close(code, reason, flush=True) for s in sessions), return_exceptions=True)


def require_member(info: ChannelInfo | None, session: Session) -> None:
    """Private channels admit their members and admins only."""
    if info is not None and info.private and session.user.id not in info.members and not session.user.is_admin:
        raise Forbidden(f"channel {info.name!r} is private")
