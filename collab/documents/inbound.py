"""What happens to each frame a `/ws/doc/{name}` client sends (the shell reads the socket and hands
every frame here)."""

from __future__ import annotations

import asyncio
import logging

from collab.documents.limits import DocumentTooLarge
from collab.documents.peer import Peer
from collab.documents.room import Room
from collab.documents.rooms import DocumentManager
from collab.errors import ProtocolError
from collab.realtime.connection import CloseCode
from collab.realtime.limits import TokenBucket

log = logging.getLogger(__name__)

# Appends one connection may have waiting for their commit before its socket is read again.
MAX_INFLIGHT = 256


class DocInbox:
    """One document connection's incoming frames. `binary` and `text` return False once the connection
    is closed for what it sent: the shell stops reading then."""

    __slots__ = ("_inflight", "buckets", "documents", "frames_in", "peer", "room")

    def __init__(
        self,
        documents: DocumentManager,
        room: Room,
        peer: Peer,
        bucket: TokenBucket,
        user_bucket: TokenBucket | None = None,
    ) -> None:
        """`bucket` is this connection's rate limit; `user_bucket` the one the user's document
        connections share (collab.realtime.limits.UserBudgets)."""
        self.documents, self.room, self.peer = documents, room, peer
        self.buckets = (bucket,) if user_bucket is None else (bucket, user_bucket)
        self.frames_in = 0
        self._inflight: set[asyncio.Future[None]] = set()

    async def binary(self, data: bytes) -> bool:
        self.frames_in += 1
        for bucket in self.buckets:
            if not bucket.take():
                # Over a rate limit: stop reading (TCP pushes back on the client) rather than drop an
                # update, which a Yjs client would never send again.
                await asyncio.sleep((1 - bucket.tokens) / bucket.rate)
                bucket.take()
        peer = self.peer
        try:
            appending = self.documents.receive(self.room, peer, data)
        except ProtocolError as error:
            log.info("doc client %s (%s) sent a malformed frame: %s", peer.id, peer.user.id, error)
            await peer.close(CloseCode.INVALID_PAYLOAD, f"malformed frame: {error}")
            return False
        except DocumentTooLarge as error:
            log.info("doc client %s (%s): %s", peer.id, peer.user.id, error)
            await peer.close(CloseCode.DOCUMENT_TOO_LARGE, str(error))
            return False
        if appending is not None:
            inflight = self._inflight
            inflight.add(appending)
            appending.add_done_callback(inflight.discard)
            if len(inflight) >= MAX_INFLIGHT:
                await asyncio.wait(inflight, return_when=asyncio.FIRST_COMPLETED)
        return True

    async def text(self) -> bool:
        self.frames_in += 1
        await self.peer.close(CloseCode.UNSUPPORTED_DATA, "y-websocket frames are binary")
        return False
