"""The `audit` channel: who did what to whom (docs/operators.md). Moderation and `collab prune` record
their actions here; the history API reads them back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from collab.errors import Forbidden
from collab.events import ChannelInfo, NewEvent, StoredEvent
from collab.realtime.hub import ChannelManager
from collab.realtime.session import Session
from collab.store.base import EventStore
from collab.store.revocations import Revocation
from collab.timetext import wire_timestamp
from collab.users import User

AUDIT = "audit"
ACTIONS = ("kick", "revoke", "member_removed", "member_added", "prune")


@dataclass(frozen=True)
class Actor:
    """Who acts: an operator's token, or the command line (`collab prune`, `collab revoke`)."""

    id: str | None
    name: str

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(user.id, user.name)


@dataclass
class Outcome:
    """What an action did: the connections closed, the revocations stored, the audit event."""

    action: str
    closed: list[str] = field(default_factory=list)
    revocations: list[Revocation] = field(default_factory=list)
    audit: StoredEvent | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        return {
            "action": self.action,
            **self.details,
            "closed": self.closed,
            "revocations": [revocation_entry(r) for r in self.revocations],
            "audit_seq": self.audit.seq if self.audit is not None else None,
        }


def revocation_entry(revocation: Revocation) -> dict[str, Any]:
    return {
        "id": revocation.id,
        "jti": revocation.token_id,
        "user_id": revocation.user_id,
        "issued_before": wire_timestamp(revocation.issued_before) if revocation.issued_before else None,
        "created_at": wire_timestamp(revocation.created_at),
        "created_by": revocation.created_by,
        "reason": revocation.reason,
    }


def register_audit(manager: ChannelManager) -> None:
    """The `audit` channel kind: written by moderation only, read through the history API. No socket
    may join it: a subscriber could `publish` into the record."""
    audit = manager.register_channel(AUDIT)
    audit.presence = False
    audit.client_publish = False  # the publish API (collab.realtime.publishing) asks this too

    @audit.authorizer
    def nobody(info: ChannelInfo | None, client: Session) -> None:
        raise Forbidden("the audit channel is read through GET /api/channels/audit/events")


async def record(
    store: EventStore, actor: Actor, action: str, data: dict[str, Any], *, manager: ChannelManager | None = None
) -> StoredEvent:
    """Append an audit event (and publish it when a server's `manager` is given)."""
    appended = await store.append(NewEvent(AUDIT, action, data, user_id=actor.id, nickname=actor.name))
    if manager is not None and appended.new:
        manager.broker.publish(appended.event)
    return appended.event
