"""What an uploaded file is, read from its bytes (never from its name or the type a client declares),
and an image's width and height, read from its header.

Accepted: PNG, JPEG, GIF, WebP, PDF and MP4. SVG and HTML are not: a browser runs their scripts.
Parsing stays within the headers (a JPEG's segments up to its frame header), reading the file on disk
a few bytes at a time: nothing here holds a whole upload in memory.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

# Bytes needed to tell every accepted type apart.
SNIFF_BYTES = 16
# A JPEG may carry megabytes of metadata before its frame header; past this we give up on it.
JPEG_SCAN_LIMIT = 16 * 1024 * 1024

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
    """Walk the segments after SOI to the first start-of-frame, seeking over each segment's body."""
    file.seek(2)
    while file.tell() < JPEG_SCAN_LIMIT:
        byte = file.read(1)
        if byte != b"\xff":
            return None
        marker = file.read(1)
        while marker == b"\xff":  # fill bytes
            marker = file.read(1)
        if not marker:
            return None
        code = marker[0]
        if code == 0xD8 or 0xD0 <= code <= 0xD7 or code == 0x01:  # markers without a length
            continue
        if code in (0xD9, 0xDA):  # end of image, start of scan: no frame header before them
            return None
        length_bytes = file.read(2)
        if len(length_bytes) < 2:
            return None
        (length,) = struct.unpack(">H", length_bytes)
        if length < 2:
            return None
        if code in _SOF:
            body = file.read(5)
            if len(body) < 5:
                return None
            height, width = struct.unpack(">HH", body[1:5])
            return width, height
        file.seek(length - 2, 1)
    return None
