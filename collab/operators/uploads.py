"""An upload on its way in: its bytes in a temporary file, hashed and checked as they arrive, and the
errors that refuse one (too large, a type not accepted)."""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from collab.errors import CollabError
from collab.operators.mediatypes import sniff

log = logging.getLogger(__name__)


class TooLarge(CollabError):
    code = "too_large"


class UnsupportedType(CollabError):
    code = "unsupported_media_type"


@dataclass(frozen=True, slots=True)
class Received:
    """An upload's bytes in a temporary file, checked: its type is one of mediatypes.ACCEPTED_TYPES."""

    path: Path
    sha256: str
    size: int
    mime: str
    width: int | None
    height: int | None

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def _accepted(head: bytes) -> str:
    mime = sniff(head)
    if mime is None:
        raise UnsupportedType("the content is not an accepted type (PNG, JPEG, GIF, WebP, PDF, MP4)")
    return mime


def _write(file: BinaryIO, digest: Any, chunk: bytes) -> None:
    digest.update(chunk)
    file.write(chunk)


def _sweep(tmp: Path, before: float) -> None:
    """Remove what uploads cut short by a crash left in `tmp` (not the uploads under way elsewhere:
    only files untouched for a day)."""
    for path in tmp.glob("upload-*"):
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mtime < before:
                path.unlink()
                log.info("media: removed %s, left by an upload that never finished", path.name)


def _abandon(file: BinaryIO, path: Path) -> None:
    file.close()
    path.unlink(missing_ok=True)


def _flush(file: BinaryIO) -> int:
    file.flush()
    os.fsync(file.fileno())
    return os.fstat(file.fileno()).st_size
