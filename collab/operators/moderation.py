"""Moderation: kicking connections, revoking tokens, removing users from private channels, and the
`audit` channel that records each action (docs/operators.md).

Every action follows one order, so that nothing can slip in between:
1. persist what must outlive the connections (a revocation row, a membership removed), then
2. apply it in memory (the revocation list the authenticator consults, the rooms' cache), then
3. close the affected connections with 1008 — the JSON sockets (`/ws`) and the document sockets
   (`/ws/doc`) alike — and only then
4. append the audit event (`kick`, `revoke`, `member_removed`, `member_added`; who did it is the
   event's `user_id`/`nickname`) and publish it.
A client that reconnects after step 3 is refused, because step 1 and 2 came first.

Several processes: revocations live in the database, and each process polls for new rows every
`REFRESH_SECONDS` (so `collab revoke` and another process's revocations reach every server), closing
its own connections that use a revoked token. Audit events published by another process reach
`on_event` through the broker and are applied to this process's connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from collab.errors import Conflict, Forbidden, NotFound, ProtocolError
from collab.events import ChannelInfo, NewEvent, StoredEvent, utcnow
from collab.naming import channel_kind, check_channel_name
from collab.operators.audit import AUDIT, Actor, Outcome
from collab.operators.revoked import RevocationList
from collab.realtime.connection import CloseCode, Connection, State
from collab.realtime.hub import ChannelManager
from collab.realtime.protocol import error_frame
from collab.realtime.session import Session
from collab.store.revocations import Revocation, RevocationStore
from collab.timetext import wire_timestamp

log = logging.getLogger(__name__)

REFRESH_SECONDS = 5.0
DM_MEMBERS = "the members of a direct-message channel are its two users: they cannot be added or removed"
# The poll reads ids above (the highest seen - this window): ids come from a sequence, and a
# transaction that took a lower id may commit after one that took a higher.
ID_WINDOW = 100


class RoomDirectory(Protocol):
    """What moderation needs of the chat wing's rooms (collab.chat.rooms.Rooms)."""

    def update_members(self, info: ChannelInfo) -> None:
        """A known room's members changed: keep its new info."""

    async def announce_list(self) -> None:
        """Send everyone their room list again."""


class DocumentConnections(Protocol):
    """What moderation needs of the documents wing (collab.documents.rooms.DocumentManager)."""

    @property
    def peers(self) -> Mapping[str, Connection]: ...


class Moderation:
    """The actions, on one server process."""

    def __init__(
        self,
        manager: ChannelManager,
        documents: DocumentConnections,
        rooms: RoomDirectory,
        revocation_store: RevocationStore,
        revoked: RevocationList,
    ) -> None:
        self.manager = manager
        self.documents = documents
        self.rooms = rooms
        self.revocation_store = revocation_store
        self.revoked = revoked
        self._own: set[int] = set()  # seqs of audit events this process published (on_event skips them)
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- connections ----------------------------------------------------------------------------

    def connections(self) -> list[Connection]:
        """Every open connection of this process, on both socket endpoints."""
        found: list[Connection] = [s for s in self.manager.sessions.values() if s.state is State.OPEN]
        found += [p for p in self.documents.peers.values() if p.state is State.OPEN]
        return found

    def _close(self, connection: Connection, reason: str) -> None:
        if isinstance(connection, Session):
            # The JSON socket says why in an `error` frame first (as for any refusal); a document socket
            # speaks y-websocket only and gets the reason in the close frame.
            connection.send(error_frame("forbidden", reason))
        connection.close_soon(CloseCode.POLICY_VIOLATION, reason)
        log.info("moderation: closed client=%s user=%s: %s", connection.id, connection.user.id, reason)

    def close(self, connections: Iterable[Connection], reason: str) -> list[str]:
        closed = []
        for connection in connections:
            self._close(connection, reason)
            closed.append(connection.id)
        return closed

    def enforce(self) -> list[str]:
        """Close every connection whose token the revocation list refuses now."""
        return self.close(
            (c for c in self.connections() if self.revoked.reason(c.user) is not None), "token revoked by an operator"
        )

    # -- revocations ------------------------------------------------------------------------------

    async def refresh(self) -> list[str]:
        """Take in revocations stored since the last look (other processes, `collab revoke`); close the
        connections they refuse. The ids of the connections closed."""
        rows = await self.revocation_store.after(max(0, self.revoked.last_id - ID_WINDOW))
        fresh = [row for row in rows if self.revoked.add(row)]
        return self.enforce() if fresh else []

    async def run_refresh(self, interval: float = REFRESH_SECONDS) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.refresh()
            except Exception as error:  # the database is away: try again next time, say so now
                if (task := asyncio.current_task()) is not None and task.cancelling():
                    # Cancelled during the query, and the driver's clean-up error replaced the
                    # CancelledError (asyncpg): stop, or the shutdown waits for this task forever.
                    raise asyncio.CancelledError from error
                log.warning("moderation: cannot read revocations: %s", error)

    async def _store_revocation(
        self,
        actor: Actor,
        *,
        token_id: str | None = None,
        user_id: str | None = None,
        before: datetime | None = None,
        reason: str | None,
    ) -> Revocation:
        revocation = await self.revocation_store.add(
            token_id=token_id, user_id=user_id, issued_before=before, created_by=actor.id or actor.name, reason=reason
        )
        self.revoked.add(revocation)
        return revocation

    async def revoke(
        self,
        actor: Actor,
        *,
        token_id: str | None = None,
        user_id: str | None = None,
        before: datetime | None = None,
        reason: str | None = None,
    ) -> Outcome:
        """Revoke one token (`token_id`, its `jti`) or every token of `user_id` issued before `before`
        (default: now). Connections using a revoked token close with 1008."""
        if (token_id is None) == (user_id is None):
            raise ProtocolError("revoke either a token ('jti') or a user ('user_id'), not both")
        if token_id is not None and before is not None:
            raise ProtocolError("'before' goes with 'user_id'")
        if user_id is not None:
            before = before or utcnow()
        revocation = await self._store_revocation(
            actor, token_id=token_id, user_id=user_id, before=before, reason=reason
        )
        closed = self.enforce()
        details = {"jti": token_id, "target_user": user_id, "issued_before": wire_timestamp(before) if before else None}
        outcome = Outcome("revoke", closed, [revocation], details=details)
        outcome.audit = await self._audit(actor, outcome, reason)
        return outcome

    # -- kicks ------------------------------------------------------------------------------------

    async def kick(
        self,
        actor: Actor,
        *,
        client_id: str | None = None,
        user_id: str | None = None,
        revoke: bool = True,
        reason: str | None = None,
    ) -> Outcome:
        """Close one connection (`client_id`) or every connection of `user_id` with 1008. With `revoke`
        (the default) their tokens are revoked too, so they cannot come straight back: by `jti`, or —
        for a token without one, and for a user with no connection here — all the user's tokens
        issued until now."""
        if (client_id is None) == (user_id is None):
            raise ProtocolError("kick either a connection ('client_id') or a user ('user_id'), not both")
        if client_id is not None:
            targets = [c for c in self.connections() if c.id == client_id]
            if not targets and self.manager.broker.kind == "memory":
                raise NotFound(f"no connection {client_id!r} is open on this server")
            # Else another process may have it: the audit event reaches every process, and the one with
            # the connection closes it and revokes its token (`on_event`).
        else:
            targets = [c for c in self.connections() if c.user.id == user_id]
        revocations: list[Revocation] = []
        if revoke:
            token_ids = {c.user.token_id for c in targets if c.user.token_id is not None}
            users = {c.user.id for c in targets if c.user.token_id is None}
            if user_id is not None and not targets:
                users.add(user_id)
            now = utcnow()
            for jti in sorted(token_ids):
                revocations.append(await self._store_revocation(actor, token_id=jti, reason=reason))
            for uid in sorted(users):
                revocations.append(await self._store_revocation(actor, user_id=uid, before=now, reason=reason))
        closed = self.close(targets, "kicked by an operator" + (f": {reason}" if reason else ""))
        closed += [cid for cid in self.enforce() if cid not in closed]  # other sockets on a revoked token
        details = {"client_id": client_id, "target_user": user_id, "revoke": revoke}
        outcome = Outcome("kick", closed, revocations, details=details)
        outcome.audit = await self._audit(actor, outcome, reason)
        return outcome

    # -- membership -------------------------------------------------------------------------------

    async def _private_channel(self, channel: str) -> ChannelInfo:
        check_channel_name(channel)
        if channel_kind(channel) == "dm":
            # Its readers are the pair its name spells (collab.chat.dm_names): a member added here would
            # read nothing, and one removed would read all the same. Said before anything is looked up.
            raise Forbidden(DM_MEMBERS)
        info = await self.manager.store.get_channel(channel)
        if info is None:
            raise NotFound(f"no channel {channel!r}")
        if not info.private:
            raise Conflict(f"channel {channel!r} is public: it has no members to remove or add")
        return info

    async def remove_member(self, actor: Actor, channel: str, user_id: str, *, reason: str | None = None) -> Outcome:
        """Take `user_id` out of a private channel: their sockets whose own channel it is close with 1008,
        the others leave it (`unsubscribed` with a `reason`), and joining again is refused."""
        info = await self._private_channel(channel)
        if user_id not in info.members:
            raise NotFound(f"{user_id!r} is not a member of {channel!r}")
        await self.manager.store.remove_member(channel, user_id)
        closed = await self._apply_removal(info, user_id, reason)
        outcome = Outcome("member_removed", closed, details={"target_channel": channel, "target_user": user_id})
        outcome.audit = await self._audit(actor, outcome, reason)
        return outcome

    async def _apply_removal(self, info: ChannelInfo, user_id: str, reason: str | None) -> list[str]:
        text = f"removed from {info.name!r} by an operator" + (f": {reason}" if reason else "")
        remaining = replace(info, members=info.members - {user_id})
        self.rooms.update_members(remaining)
        # Every socket in the channel is judged again (admins stay: they read every private channel),
        # also one still joining, which `sessions_of` would not find yet.
        closed = await self.manager.update_access(remaining, text)
        if channel_kind(info.name) == "chat":
            await self.rooms.announce_list()
        return closed

    async def add_member(self, actor: Actor, channel: str, user_id: str, *, reason: str | None = None) -> Outcome:
        info = await self._private_channel(channel)
        if user_id in info.members:
            raise Conflict(f"{user_id!r} is a member of {channel!r} already")
        await self.manager.store.add_member(channel, user_id)
        self.rooms.update_members(replace(info, members=info.members | {user_id}))
        if channel_kind(channel) == "chat":
            await self.rooms.announce_list()
        outcome = Outcome("member_added", details={"target_channel": channel, "target_user": user_id})
        outcome.audit = await self._audit(actor, outcome, reason)
        return outcome

    # -- the record -------------------------------------------------------------------------------

    async def _audit(self, actor: Actor, outcome: Outcome, reason: str | None) -> StoredEvent:
        data = outcome.public()
        data.pop("audit_seq")
        data.pop("action")
        data["reason"] = reason
        appended = await self.manager.append(
            NewEvent(AUDIT, outcome.action, data, user_id=actor.id, nickname=actor.name)
        )
        self._own.add(appended.event.seq)
        return appended.event

    def on_event(self, event: StoredEvent) -> None:
        """A committed event (hub listener): an audit event of another process is applied here too."""
        if event.channel != AUDIT:
            return
        if event.seq in self._own:
            self._own.discard(event.seq)
            return
        data = event.data if isinstance(event.data, dict) else {}
        if event.type in ("revoke", "kick"):
            self._spawn(self.refresh())
        if event.type == "kick":
            client_id, user_id = data.get("client_id"), data.get("target_user")
            targets = [
                c
                for c in self.connections()
                if (client_id is not None and c.id == client_id) or (user_id is not None and c.user.id == user_id)
            ]
            self.close(targets, "kicked by an operator")
            if client_id is not None and targets and data.get("revoke"):
                self._spawn(self._revoke_tokens_of(targets, event))
        elif event.type == "member_removed":
            self._spawn(self._remote_removal(str(data.get("target_channel")), str(data.get("target_user"))))

    async def _revoke_tokens_of(self, targets: list[Connection], event: StoredEvent) -> None:
        """A kick of one of this process's connections, asked on another process: revoke its token
        here, where the token is known (the kick's audit event is the record)."""
        actor = Actor(event.user_id, event.nickname or "an operator")
        for connection in targets:
            user = connection.user
            if user.token_id is not None:
                await self._store_revocation(actor, token_id=user.token_id, reason="kicked")
            else:
                await self._store_revocation(actor, user_id=user.id, before=utcnow(), reason="kicked")

    async def _remote_removal(self, channel: str, user_id: str) -> None:
        info = await self.manager.store.get_channel(channel)
        if info is not None:
            await self._apply_removal(info, user_id, None)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close_tasks(self) -> None:
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


__all__ = ["ID_WINDOW", "REFRESH_SECONDS", "Connection", "Moderation", "RevocationList"]
