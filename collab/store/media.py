"""The media library's metadata (table `media`): one row per item, its file named by its sha256.

The library (collab.operators.media) decides who may do what and keeps the files; this module only
reads and writes rows. Pages are keyset pages on (created_at, id), newest first: a page costs the
same deep in the list as at its top, and items added meanwhile never shift a page boundary.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine

from collab.store.errors import translated
from collab.store.rows import aware
from collab.store.schema import media


@dataclass(frozen=True, slots=True)
class MediaItem:
    id: str
    sha256: str
    mime: str
    size: int
    width: int | None
    height: int | None
    filename: str | None
    title: str
    description: str
    tags: tuple[str, ...]
    uploader_id: str
    uploader_name: str
    created_at: datetime
    updated_at: datetime


class MediaStore:
    """Typed reads and writes of media rows; errors are `StoreError` (collab.store.errors)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def insert(self, item: MediaItem) -> None:
        await self._execute(media.insert().values(**_row(item)))

    async def get(self, media_id: str) -> MediaItem | None:
        rows = await self._fetch(sa.select(media).where(media.c.id == media_id))
        return _item(rows[0]) if rows else None

    async def page(
        self,
        *,
        limit: int,
        before: tuple[datetime, str] | None = None,
        tag: str | None = None,
        uploader: str | None = None,
        mime_prefix: str | None = None,
    ) -> list[MediaItem]:
        """At most `limit` items, newest first, older than `before` (created_at, id) when given."""
        query = sa.select(media).order_by(media.c.created_at.desc(), media.c.id.desc()).limit(limit)
        if before is not None:
            moment, media_id = before
            query = query.where(
                sa.or_(
                    media.c.created_at < moment,
                    sa.and_(media.c.created_at == moment, media.c.id < media_id),
                )
            )
        if tag:
            query = query.where(self._has_tag(tag))
        if uploader:
            query = query.where(media.c.uploader_id == uploader)
        if mime_prefix:
            query = query.where(media.c.mime.startswith(mime_prefix, autoescape=True))
        return [_item(row) for row in await self._fetch(query)]

    def _has_tag(self, tag: str) -> sa.ColumnElement[bool]:
        if self.engine.dialect.name == "postgresql":
            return sa.type_coerce(media.c.tags, postgresql.JSONB).contains([tag])
        each = sa.func.json_each(media.c.tags).table_valued("value")
        return sa.exists(sa.select(sa.literal(1)).select_from(each).where(each.c.value == tag))

    async def update(self, media_id: str, changes: dict[str, Any], updated_at: datetime) -> bool:
        """Change some of title, description, tags; False when the row is gone."""
        values = {key: list(value) if key == "tags" else value for key, value in changes.items()}
        statement = media.update().where(media.c.id == media_id).values(**values, updated_at=updated_at)
        return await self._execute(statement) > 0

    async def restore(self, item: MediaItem) -> None:
        """Put every field of the row back as `item` has it (undoing an update)."""
        await self._execute(media.update().where(media.c.id == item.id).values(**_row(item)))

    async def delete(self, media_id: str) -> bool:
        """False when there was no such row."""
        return await self._execute(media.delete().where(media.c.id == media_id)) > 0

    async def count_with_sha(self, sha256: str) -> int:
        """How many rows name the file with this hash."""
        rows = await self._fetch(sa.select(sa.func.count()).select_from(media).where(media.c.sha256 == sha256))
        return int(rows[0][0])

    async def bytes_of(self, uploader_id: str) -> int:
        """The bytes of every item `uploader_id` uploaded (an upload quota counts them)."""
        total = sa.func.coalesce(sa.func.sum(media.c.size), 0)
        rows = await self._fetch(sa.select(total).where(media.c.uploader_id == uploader_id))
        return int(rows[0][0])

    async def _fetch(self, statement: Any) -> list[Any]:
        with translated():
            async with self.engine.connect() as conn:
                return list(await conn.execute(statement))

    async def _execute(self, statement: Any) -> int:
        with translated():
            async with self.engine.begin() as conn:
                return (await conn.execute(statement)).rowcount


def _row(item: MediaItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "sha256": item.sha256,
        "mime": item.mime,
        "size": item.size,
        "width": item.width,
        "height": item.height,
        "filename": item.filename,
        "title": item.title,
        "description": item.description,
        "tags": list(item.tags),
        "uploader_id": item.uploader_id,
        "uploader_name": item.uploader_name,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
    }


def _item(row: Any) -> MediaItem:
    return MediaItem(
        id=row.id,
        sha256=row.sha256,
        mime=row.mime,
        size=row.size,
        width=row.width,
        height=row.height,
        filename=row.filename,
        title=row.title,
        description=row.description,
        tags=tuple(row.tags or ()),
        uploader_id=row.uploader_id,
        uploader_name=row.uploader_name,
        created_at=aware(row.created_at),
        updated_at=aware(row.updated_at),
    )


__all__ = ["MediaItem", "MediaStore"]
