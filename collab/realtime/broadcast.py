"""`broadcast:all`: the channel every `/ws` socket hears, whatever channels it is in.

What "broadcast to every connection" means in an event-sourced server: the broadcast is a stored event
like any other (on this well-known channel), appended once and published through the broker, so every
server process delivers it to each of its sockets exactly once. Stored rather than relayed as a passing
frame because a relayed frame is at most once and gone: a socket reconnecting at that moment would miss
it for good, while a stored one it can read back (`subscribe` to `broadcast:all` with `since`), an
operator can find it in the history, and a retried request is deduplicated by its op id.

Only the server writes here (the publish API, docs/server-api.md); sockets may subscribe to catch up.
"""

from __future__ import annotations

from collab.events import StoredEvent
from collab.realtime.hub import ChannelManager
from collab.realtime.kinds import ChannelKind
from collab.realtime.session import Session

BROADCAST_KIND = "broadcast"
BROADCAST_CHANNEL = "broadcast:all"


def register_broadcast(manager: ChannelManager) -> ChannelKind:
    """The kind: no presence (everyone is in it), no publishing from sockets; its events reach every
    socket of this process (other names of the kind are never written to)."""
    kind = manager.register_channel(BROADCAST_KIND)
    kind.presence = False
    kind.client_publish = False

    def every_socket(event: StoredEvent) -> set[Session]:
        if event.channel != BROADCAST_CHANNEL:
            return set()
        return set(manager.sessions.values())

    manager.recipients[BROADCAST_KIND] = every_socket
    return kind
