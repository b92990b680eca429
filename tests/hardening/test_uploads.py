"""Upload holes of issue 11 (item 11), tried as an attacker would: a crafted JPEG that made the size scan
cost seconds of CPU, a user filling the disk (no quota, no rate), and a file name with a line feed that
was stored and then could not be served. In-process apps on SQLite and PostgreSQL; the JPEG scan on its
own, on a file on disk as an upload is."""

from __future__ import annotations

import io
import struct
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData
from support.auth import token
from support.images import jpeg

from collab.operators.mediatypes import NotAccepted, dimensions

SIXTEEN_MIB = 16 * 1024 * 1024
# The old scan took 1.5-11 s of CPU on each of these (one byte read at a time, no bound on segments);
# the new one takes about a millisecond.
SCAN_SECONDS = 0.5


def bearer(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(user, name=user.title())}"}


def form(content: bytes, filename: str | None = "picture.png") -> FormData:
    data = FormData()
    data.add_field("file", io.BytesIO(content), filename=filename, content_type="application/octet-stream")
    return data


async def upload(client: Any, content: bytes, *, user: str = "alice", **kwargs: Any) -> Any:
    return await client.post("/api/media", data=form(content, **kwargs), headers=bearer(user))


def stored_files(data_dir: Path) -> list[Path]:
    return sorted(p for p in data_dir.rglob("*") if p.is_file() and not p.name.startswith("collab.db"))


def scan_seconds(content: bytes) -> tuple[float, object]:
    """How long reading the JPEG's dimensions takes on a file on disk, and what it gave."""
    with tempfile.TemporaryFile() as file:
        file.write(content)
        file.flush()
        started = time.perf_counter()
        try:
            result: object = dimensions("image/jpeg", file)
        except NotAccepted as error:
            result = error
        return time.perf_counter() - started, result


CRAFTED = {
    # SOI, then 24 MiB of 0xFF fill bytes (just under the default upload limit): the old scan read them
    # one at a time, past its own 16 MiB limit.
    "fill bytes": b"\xff\xd8" + b"\xff" * (24 * 1024 * 1024),
    # Markers without a length (TEM), two bytes each: 8 million segments.
    "standalone markers": b"\xff\xd8" + b"\xff\x01" * (SIXTEEN_MIB // 2 - 1),
    # Empty comment segments, four bytes each: 4 million segments.
    "empty comments": b"\xff\xd8" + b"\xff\xfe\x00\x02" * (SIXTEEN_MIB // 4 - 1),
}


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_a_crafted_jpeg_is_refused_in_bounded_time(case: str) -> None:
    seconds, result = scan_seconds(CRAFTED[case])
    assert isinstance(result, NotAccepted), result
    assert seconds < SCAN_SECONDS, f"{case}: the scan took {seconds:.2f} s"


def test_real_jpegs_still_give_their_size() -> None:
    # Megabytes of metadata (APP1 chunks of 60 kB), and a thousand small segments (the bound is 1024).
    assert scan_seconds(jpeg(640, 480, exif=SIXTEEN_MIB - 100_000))[1] == (640, 480)
    comments = b"".join(b"\xff\xfe" + struct.pack(">H", 6) + b"note" for _ in range(1000))
    many = jpeg(33, 44, exif=0).replace(b"\xff\xd8", b"\xff\xd8" + comments, 1)
    assert scan_seconds(many)[1] == (33, 44)
    # Fill bytes before a marker, as the format allows.
    filled = jpeg(5, 6, exif=10).replace(b"\xff\xdb", b"\xff\xff\xff\xdb", 1)
    assert scan_seconds(filled)[1] == (5, 6)
