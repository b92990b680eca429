"""An upload on its way in: its bytes in a temporary file, hashed and checked as they arrive, what a user
may upload (a byte quota, a rate), and the errors that refuse one (too large, over the quota, too
often, a type not accepted)."""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from collab.errors import CollabError
from collab.operators.mediatypes import sniff
from collab.realtime.limits import TokenBucket

log = logging.getLogger(__name__)


class TooLarge(CollabError):
    code = "too_large"


class UnsupportedType(CollabError):
    code = "unsupported_media_type"


class QuotaExceeded(CollabError):
    """The user's uploads would take more than their byte quota."""

    code = "quota_exceeded"


class UploadRateLimited(CollabError):
    """The user started more uploads than their rate allows; `retry_after` seconds until the next."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class UploadLimits:
    """What one user may upload: `quota_bytes` in all (the sizes of their items), `per_minute` uploads
    started a minute, in bursts of as many. 0 turns either off."""

    quota_bytes: int = 0
    per_minute: float = 0.0


class UploadRate:
    """Uploads started per user, a token bucket each (this process's count: N processes allow N times
    the rate). Buckets that have filled up again are forgotten once there are many: memory follows the
    users uploading now, not every user ever seen."""

    FORGET_ABOVE = 10_000

    def __init__(self, per_minute: float) -> None:
        self.per_minute = per_minute
        self._buckets: dict[str, TokenBucket] = {}
        self._forget_at = self.FORGET_ABOVE

    def take(self, user_id: str) -> None:
        """Count one upload by `user_id`, or `UploadRateLimited` (nothing counted) when over the rate."""
        if self.per_minute <= 0:
            return
        bucket = self._buckets.get(user_id)
        if bucket is None:
            if len(self._buckets) >= self._forget_at:
                self._forget_idle()
            bucket = self._buckets[user_id] = TokenBucket(self.per_minute / 60, max(1, int(self.per_minute)))
        if not bucket.take():
            wait = math.ceil((1 - bucket.tokens) / bucket.rate)
            raise UploadRateLimited(
                f"too many uploads: at most {self.per_minute:g} a minute; try again in {wait} s", wait
            )

    def _forget_idle(self) -> None:
        now = time.monotonic()
        self._buckets = {
            user: bucket
            for user, bucket in self._buckets.items()
            if bucket.tokens + (now - bucket.stamp) * bucket.rate < bucket.burst
        }
        self._forget_at = max(self.FORGET_ABOVE, 2 * len(self._buckets))


def over_quota(quota: int, used: int, size: int | None = None) -> QuotaExceeded:
    """The error for a user whose items take `used` bytes of `quota` (with a file of `size` bytes)."""
    what = f"this file of {size} bytes does not fit" if size is not None else "nothing more fits"
    return QuotaExceeded(f"the upload quota is {quota} bytes per user and your files take {used}: {what}")


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
