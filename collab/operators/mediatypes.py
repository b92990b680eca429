"""What an uploaded file is, read from its bytes (never from its name or the type a client declares),
and an image's width and height, read from its header.

Accepted: PNG, JPEG, GIF, WebP, PDF and MP4. SVG and HTML are not: a browser runs their scripts.
Parsing stays within the headers (a JPEG's segments up to its frame header, a bounded number of them),
reading the file on disk a few bytes at a time: nothing here holds a whole upload in memory, and no
crafted header costs more than a few thousand short reads.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

# Bytes needed to tell every accepted type apart.
SNIFF_BYTES = 16
# A JPEG may carry megabytes of metadata before its frame header; past this we give up on it.
JPEG_SCAN_LIMIT = 16 * 1024 * 1024
# Segments before the frame header: a camera's JPEG has a dozen or two (an ICC profile split into 64 KiB
# APP2 chunks adds up to 255). Past this many the file is not an image someone took.
JPEG_MAX_SEGMENTS = 1024
# 0xFF fill bytes allowed before one marker (encoders write none or a few).
JPEG_MAX_FILL = 64

IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
ACCEPTED_TYPES = (*sorted(IMAGE_TYPES), "application/pdf", "video/mp4")
_MP4_BRANDS = frozenset({b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"dash", b"mmp4"})


class NotAccepted(ValueError):
    """The bytes are not one of the accepted types, or its header is broken."""


def sniff(head: bytes) -> str | None:
    """The media type of a file that starts with `head` (at least SNIFF_BYTES of it, or all of a
    shorter file), or None when it is none of the accepted ones."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head[4:8] == b"ftyp" and head[8:12] in _MP4_BRANDS:
        return "video/mp4"
    return None


def dimensions(mime: str, file: BinaryIO) -> tuple[int, int] | None:
    """(width, height) of an image from its header; None for other types. `NotAccepted` when an
    image's header does not hold them (a truncated or fake file)."""
    file.seek(0)
    if mime == "image/png":
        size = _png(file.read(24))
    elif mime == "image/gif":
        size = _gif(file.read(10))
    elif mime == "image/webp":
        size = _webp(file.read(30))
    elif mime == "image/jpeg":
        size = _jpeg(file)
    else:
        return None
    if size is None or size[0] <= 0 or size[1] <= 0:
        raise NotAccepted(f"not a readable {mime.removeprefix('image/').upper()} image")
    return size


def _png(head: bytes) -> tuple[int, int] | None:
    # The signature, then the IHDR chunk (length, type) whose data starts with width and height.
    if len(head) < 24 or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


def _gif(head: bytes) -> tuple[int, int] | None:
    return struct.unpack("<HH", head[6:10]) if len(head) >= 10 else None


def _webp(head: bytes) -> tuple[int, int] | None:
    if len(head) < 30:
        return None
    chunk = head[12:16]
    if chunk == b"VP8 ":  # lossy: a key frame's start code, then 14-bit width and height
        if head[23:26] != b"\x9d\x01\x2a":
            return None
        width, height = struct.unpack("<HH", head[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":  # lossless: a signature byte, then 14 bits each of width-1 and height-1
        if head[20] != 0x2F:
            return None
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":  # extended: 24-bit canvas width-1 and height-1
        return int.from_bytes(head[24:27], "little") + 1, int.from_bytes(head[27:30], "little") + 1
    return None


# Start-of-frame markers: baseline, progressive and the rarer codings (not DHT C4, JPG C8, DAC CC).
_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


def _jpeg(file: BinaryIO) -> tuple[int, int] | None:
    """Walk the segments after SOI to the first start-of-frame: one seek and one short read per segment,
    jumping over each segment's body by its length. At most `JPEG_MAX_SEGMENTS` segments, each marker
    after at most `JPEG_MAX_FILL` fill bytes, within the first `JPEG_SCAN_LIMIT` bytes: a file built of
    millions of tiny segments costs no more than a real one."""
    position = 2
    for _ in range(JPEG_MAX_SEGMENTS):
        if position >= JPEG_SCAN_LIMIT:
            return None
        file.seek(position)
        # The marker's 0xFF, its fill bytes, the marker code, the length and a frame header's first 5 bytes.
        window = file.read(JPEG_MAX_FILL + 8)
        if window[:1] != b"\xff":
            return None
        rest = window.lstrip(b"\xff")
        prefix = len(window) - len(rest)  # the 0xFF and its fill bytes
        if not rest or prefix > JPEG_MAX_FILL:
            return None
        code = rest[0]
        if code == 0xD8 or 0xD0 <= code <= 0xD7 or code == 0x01:  # markers without a length
            position += prefix + 1
            continue
        if code in (0xD9, 0xDA) or len(rest) < 3:  # end of image, start of scan: no frame header before them
            return None
        (length,) = struct.unpack(">H", rest[1:3])
        if length < 2:
            return None
        if code in _SOF:
            if len(rest) < 8:
                return None
            height, width = struct.unpack(">HH", rest[4:8])
            return width, height
        position += prefix + 1 + length
    return None
