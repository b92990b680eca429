"""A connection on one document (`/ws/doc/{name}`): binary frames, and whether it may write."""

from __future__ import annotations

from collab.realtime.connection import DEFAULT_QUEUE_BYTES, DEFAULT_QUEUE_LIMIT, Connection, Transport
from collab.users import User


class Peer(Connection):
    """One y-websocket client; its outbox, its closing and its token expiry are `Connection`'s."""

    __slots__ = ("announced", "awareness_refused", "read_only", "refused")

    def __init__(
        self,
        transport: Transport,
        user: User,
        *,
        queue_limit: int = DEFAULT_QUEUE_LIMIT,
        queue_bytes: int = DEFAULT_QUEUE_BYTES,
    ) -> None:
        super().__init__(transport, user, queue_limit=queue_limit, queue_bytes=queue_bytes, binary=True)
        self.read_only = user.read_only
        self.refused = 0  # updates refused (read-only, or the document would grow too large)
        # The awareness client ids this connection brought in, and the states refused for the limits
        # (collab.documents.limits).
        self.announced: set[int] = set()
        self.awareness_refused = 0

    def send(self, frame: bytes) -> None:
        self.send_frame(frame)
