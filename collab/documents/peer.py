"""A connection on one document (`/ws/doc/{name}`): binary frames, and whether it may write."""

from __future__ import annotations

from collab.realtime.connection import Connection, Transport
from collab.users import User


class Peer(Connection):
    """One y-websocket client; its outbox, its closing and its token expiry are `Connection`'s."""

    __slots__ = ("read_only", "refused")

    def __init__(self, transport: Transport, user: User, *, queue_limit: int = 4096) -> None:
        super().__init__(transport, user, queue_limit=queue_limit, binary=True)
        self.read_only = user.read_only
        self.refused = 0  # updates refused (read-only)

    def send(self, frame: bytes) -> None:
        self.send_frame(frame)
