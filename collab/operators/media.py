"""The media library: files stored on disk by content (sha256), metadata in SQL, every change an event
on channel `media` (`new_media`, `media_updated`, `media_deleted`), sent after the metadata commits.

An upload takes three steps, so that the HTTP layer can stream it and still read form fields that come
after the file: `admit(user)` counts it against the user's rate and says how much of their quota is
left, `receive(chunks, max_bytes=…, quota_left=…)` writes the bytes to a temporary file while hashing
and checking them (size, quota, type from the content), then `add(user, received, …)` moves the file
into place and records the metadata (checking the quota again, under the lock that orders uploads).
A refused or abandoned upload is `received.discard()`ed: nothing stays.

On disk: `<root>/<first two hex digits>/<sha256>`, temporary files in `<root>/tmp`. No path is ever
made from anything a client sent: file names are metadata only, ids are checked against `ID_PATTERN`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import secrets
import tempfile
import time
from collections.abc import AsyncIterable, Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from collab.errors import Forbidden, NotFound, ProtocolError, StoreError
from collab.events import NewEvent, utcnow
from collab.operators.media_checks import (
    ID_PATTERN,
    MAX_TITLE,
    check_changes,
    check_filename,
    check_id,
    check_tags,
)
from collab.operators.mediatypes import SNIFF_BYTES, NotAccepted, dimensions
from collab.operators.uploads import (
    QuotaExceeded,
    Received,
    TooLarge,
    UnsupportedType,
    UploadLimits,
    UploadRate,
    UploadRateLimited,
    _abandon,
    _accepted,
    _flush,
    _sweep,
    _write,
    over_quota,
)
from collab.realtime.channel import Channel
from collab.realtime.hub import ChannelManager
from collab.realtime.kinds import ChannelKind
from collab.realtime.protocol import optional_id
from collab.realtime.session import Session
from collab.store.media import MediaItem, MediaStore
from collab.timetext import wire_timestamp
from collab.users import User

log = logging.getLogger(__name__)

MEDIA_CHANNEL = "media"
MAX_PAGE = 200
STALE_UPLOAD_SECONDS = 24 * 3600


Links = Callable[[str], Mapping[str, str]]


def no_links(media_id: str) -> Mapping[str, str]:
    return {}


def media_entry(item: MediaItem) -> dict[str, Any]:
    """The item as the HTTP API and the `media` channel's events show it, without the links the HTTP
    layer adds (its URLs are its own business)."""
    return {
        "id": item.id,
        "title": item.title,
        "description": item.description,
        "tags": list(item.tags),
        "mime": item.mime,
        "size": item.size,
        "width": item.width,
        "height": item.height,
        "sha256": item.sha256,
        "filename": item.filename,
        "uploader": {"id": item.uploader_id, "name": item.uploader_name},
        "created_at": wire_timestamp(item.created_at),
        "updated_at": wire_timestamp(item.updated_at),
    }


# -- the library ---------------------------------------------------------------------------------------


def register_media(manager: ChannelManager) -> ChannelKind:
    """The `media` channel: its events come from the library (HTTP, and a socket's `media_updated`
    frame once `MediaLibrary.listen` wired it); a client's own `publish` is refused."""
    kind = manager.register_channel(MEDIA_CHANNEL)
    kind.client_publish = False
    return kind


class MediaLibrary:
    """The items: their rows in `store`, their files under `root`, their events on channel `media`.
    `links` gives the links of an item (the HTTP layer's URLs), added to every entry the library shows,
    in its events too, so that a page can show an item it learnt of on the channel. `limits` is what
    one user may upload (a byte quota, a rate)."""

    def __init__(
        self,
        store: MediaStore,
        manager: ChannelManager,
        root: Path,
        *,
        links: Links = no_links,
        limits: UploadLimits | None = None,
    ) -> None:
        self.store = store
        self.manager = manager
        self.root = Path(root)
        self.links = links
        self.limits = limits or UploadLimits()
        self._rate = UploadRate(self.limits.per_minute)
        # Placing a blob and inserting its row, or deleting a row and removing its blob when no other
        # row names it, happen under this lock: otherwise an upload of the same bytes racing a delete
        # could find its blob removed under it. (Across server processes that race remains possible;
        # docs/media.md says so.)
        self._blobs = asyncio.Lock()
        self._swept = False

    def listen(self, kind: ChannelKind) -> None:
        """Take the `media_updated` frames of the `media` channel's sockets (`socket_update`)."""
        kind.on_message("media_updated")(self.socket_update)

    async def socket_update(self, channel: Channel, session: Session, frame: dict[str, Any]) -> None:
        """`{"type": "media_updated", "mediaId": id, "metadata": {title, description, tags}}` on the
        socket (Base's clients send it; `media_id` is taken too): the same change as
        `PUT /api/media/{id}`, by the same rules (the uploader or an operator, else `Forbidden`), and
        the same `media_updated` event, with the frame's `id` as its operation id."""
        media_id = frame.get("mediaId", frame.get("media_id"))
        if not isinstance(media_id, str):
            raise ProtocolError("field 'mediaId' must be the item's id (a string)")
        metadata = frame.get("metadata")
        if not isinstance(metadata, dict):
            raise ProtocolError("field 'metadata' must be an object of title, description and tags")
        await self.update(session.user, media_id, metadata, op_id=optional_id(frame))

    def entry(self, item: MediaItem) -> dict[str, Any]:
        """`media_entry` with the item's links."""
        return {**media_entry(item), **self.links(item.id)}

    def path_of(self, item: MediaItem) -> Path:
        return self.root / item.sha256[:2] / item.sha256

    # -- upload --------------------------------------------------------------------------------------

    async def admit(self, user: User) -> int | None:
        """Before an upload streams: `Forbidden` for a read-only user, `UploadRateLimited` past the
        user's rate, `QuotaExceeded` when their quota is full; else the bytes left of it (None: no quota)."""
        check_writer(user)
        self._rate.take(user.id)
        quota = self.limits.quota_bytes
        if quota <= 0:
            return None
        used = await self.store.bytes_of(user.id)
        if used >= quota:
            raise over_quota(quota, used)
        return quota - used

    async def receive(self, chunks: AsyncIterable[bytes], *, max_bytes: int, quota_left: int | None = None) -> Received:
        """Stream `chunks` to a temporary file, hashing them; refuse more than `max_bytes` (`TooLarge`),
        more than `quota_left` (`QuotaExceeded`) and content of a type not accepted (`UnsupportedType`)
        as soon as they show, keeping nothing."""
        tmp = self.root / "tmp"
        await asyncio.to_thread(tmp.mkdir, parents=True, exist_ok=True)
        if not self._swept:
            self._swept = True
            await asyncio.to_thread(_sweep, tmp, time.time() - STALE_UPLOAD_SECONDS)
        fd, name = await asyncio.to_thread(tempfile.mkstemp, dir=tmp, prefix="upload-")
        path = Path(name)
        file = os.fdopen(fd, "w+b")
        digest = hashlib.sha256()
        size = 0
        head = b""
        mime: str | None = None
        try:
            async for chunk in chunks:
                if not chunk:
                    continue
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge(f"the file is larger than {max_bytes} bytes")
                if quota_left is not None and size > quota_left:
                    quota = self.limits.quota_bytes
                    raise QuotaExceeded(
                        f"the upload quota is {quota} bytes per user: this file is larger than the "
                        f"{quota_left} bytes left of it"
                    )
                if mime is None:
                    head += chunk[: SNIFF_BYTES - len(head)]
                    if len(head) >= SNIFF_BYTES:
                        mime = _accepted(head)
                # hashlib and file writes release the GIL: the loop runs on meanwhile.
                await asyncio.to_thread(_write, file, digest, chunk)
            if size == 0:
                raise ProtocolError("the file is empty")
            if mime is None:
                mime = _accepted(head)
            size_on_disk = await asyncio.to_thread(_flush, file)
            if size_on_disk != size:
                raise StoreError("the upload was not written completely")
            try:
                box = await asyncio.to_thread(dimensions, mime, file)
            except NotAccepted as error:
                raise UnsupportedType(str(error)) from None
        except BaseException:
            # Synchronously: a cancelled upload (the client went away) must still leave nothing behind.
            _abandon(file, path)
            raise
        file.close()
        width, height = box if box is not None else (None, None)
        return Received(path, digest.hexdigest(), size, mime, width, height)

    async def add(
        self,
        user: User,
        received: Received,
        *,
        filename: str | None = None,
        title: str | None = None,
        description: str = "",
        tags: tuple[str, ...] = (),
    ) -> MediaItem:
        """Place the received file and record it; `new_media` goes to the channel after the commit."""
        check_writer(user)
        now = utcnow()
        if not title:
            title = Path(filename).stem[:MAX_TITLE] if filename else ""
        item = MediaItem(
            id=secrets.token_hex(8),
            sha256=received.sha256,
            mime=received.mime,
            size=received.size,
            width=received.width,
            height=received.height,
            filename=filename,
            title=title or "Untitled",
            description=description,
            tags=tags,
            uploader_id=user.id,
            uploader_name=user.name,
            created_at=now,
            updated_at=now,
        )
        try:
            async with self._blobs:
                await self._check_quota(user, received.size)
                await asyncio.to_thread(self._place, received)
                try:
                    await self.store.insert(item)
                except BaseException:
                    await self._release_blob(item.sha256)
                    raise
        finally:
            received.discard()  # gone already when it was moved into place
        try:
            await self._publish(user, "new_media", {"media_id": item.id, "media": self.entry(item)})
        except BaseException:
            await self._undo_add(item)
            raise
        return item

    async def _check_quota(self, user: User, size: int) -> None:
        """Under `_blobs`: uploads of one user racing each other in this process cannot together pass
        the quota (processes sharing a database may overshoot it by the uploads under way at once)."""
        quota = self.limits.quota_bytes
        if quota > 0:
            used = await self.store.bytes_of(user.id)
            if used + size > quota:
                raise over_quota(quota, used, size)

    def _place(self, received: Received) -> None:
        final = self.root / received.sha256[:2] / received.sha256
        if final.exists():
            return  # the same bytes are stored already (its name is their hash)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(received.path, 0o644)
        os.replace(received.path, final)

    # -- reading -------------------------------------------------------------------------------------

    async def get(self, media_id: str) -> MediaItem:
        item = await self.store.get(check_id(media_id))
        if item is None:
            raise NotFound(f"no media {media_id!r}")
        return item

    async def list(
        self,
        *,
        limit: int = 50,
        cursor: str | None = None,
        tag: str | None = None,
        uploader: str | None = None,
        mime_prefix: str | None = None,
    ) -> tuple[list[MediaItem], str | None]:
        """Newest first, at most `limit`; the cursor of the next page (or None) comes with them."""
        limit = max(1, min(limit, MAX_PAGE))
        wanted = check_tags([tag]) if tag else ()
        items = await self.store.page(
            limit=limit + 1,
            before=_parse_cursor(cursor) if cursor is not None else None,
            tag=wanted[0] if wanted else None,
            uploader=uploader or None,
            mime_prefix=mime_prefix or None,
        )
        more = len(items) > limit
        items = items[:limit]
        next_cursor = f"{items[-1].created_at.isoformat()}~{items[-1].id}" if more else None
        return items, next_cursor

    # -- changes -------------------------------------------------------------------------------------

    async def update(
        self, user: User, media_id: str, changes: Mapping[str, Any], *, op_id: str | None = None
    ) -> MediaItem:
        """Change title, description or tags (the uploader or an operator); `media_updated` follows,
        its `changed` naming the fields whose value differs. A request that changes nothing (the
        values the item has already) stores nothing, sends nothing and keeps `updated_at`."""
        requested = check_changes(changes)
        before = await self._owned(user, media_id)
        checked = {key: value for key, value in requested.items() if value != getattr(before, key)}
        if not checked:
            return before
        after = replace(before, **checked, updated_at=utcnow())
        if not await self.store.update(before.id, checked, after.updated_at):  # deleted meanwhile
            raise NotFound(f"no media {media_id!r}")
        try:
            await self._publish(
                user,
                "media_updated",
                {"media_id": after.id, "media": self.entry(after), "changed": sorted(checked)},
                op_id=op_id,
            )
        except BaseException:
            await self.store.restore(before)
            raise
        return after

    async def delete(self, user: User, media_id: str) -> MediaItem:
        """Remove the item (the uploader or an operator), and its file unless another item has the same
        bytes; `media_deleted` follows."""
        item = await self._owned(user, media_id)
        async with self._blobs:
            if not await self.store.delete(item.id):
                raise NotFound(f"no media {media_id!r}")
            await self._release_blob(item.sha256)
        try:
            await self._publish(user, "media_deleted", {"media_id": item.id})
        except BaseException:
            log.warning("media %s was deleted but its event was not stored", item.id)
            raise
        return item

    async def _owned(self, user: User, media_id: str) -> MediaItem:
        check_writer(user)
        item = await self.get(media_id)
        if item.uploader_id != user.id and not user.is_operator:
            raise Forbidden("only the uploader or an operator may change this")
        return item

    async def _release_blob(self, sha256: str) -> None:
        """Remove a blob that no row names any more (callers hold `_blobs`)."""
        if await self.store.count_with_sha(sha256) == 0:
            await asyncio.to_thread((self.root / sha256[:2] / sha256).unlink, missing_ok=True)

    async def _undo_add(self, item: MediaItem) -> None:
        """The event of an upload could not be stored: take the upload back, so that nobody has an item
        that the channel never announced."""
        with contextlib.suppress(StoreError):
            async with self._blobs:
                await self.store.delete(item.id)
                await self._release_blob(item.sha256)

    # -- plumbing ------------------------------------------------------------------------------------

    async def _publish(self, user: User, event_type: str, data: dict[str, Any], op_id: str | None = None) -> None:
        await self.manager.append(
            NewEvent(MEDIA_CHANNEL, event_type, data, user_id=user.id, nickname=user.name, op_id=op_id)
        )


def check_writer(user: User) -> None:
    """Read-only users see the library and change nothing (the HTTP layer asks before an upload streams)."""
    if user.read_only:
        raise Forbidden("a readonly user cannot change the media library")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _parse_cursor(cursor: str) -> tuple[datetime, str]:
    moment_text, _, media_id = cursor.partition("~")
    try:
        moment = _aware(datetime.fromisoformat(moment_text))
    except ValueError:
        raise ProtocolError("'cursor' is not one this server gave out") from None
    if not ID_PATTERN.match(media_id):
        raise ProtocolError("'cursor' is not one this server gave out")
    return moment, media_id


__all__ = [
    "MEDIA_CHANNEL",
    "MediaItem",
    "MediaLibrary",
    "QuotaExceeded",
    "Received",
    "TooLarge",
    "UnsupportedType",
    "UploadLimits",
    "UploadRateLimited",
    "check_changes",
    "check_filename",
    "check_id",
    "check_tags",
    "media_entry",
    "register_media",
]
