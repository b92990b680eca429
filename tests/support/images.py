"""Small files of every accepted type, built by hand (headers as the formats define them)."""

from __future__ import annotations

import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int = 3, height: int = 2, rgb: tuple[int, int, int] = (200, 40, 40), pad: int = 0) -> bytes:
    """A real PNG (browsers draw it); `pad` bytes after IEND make it as large as a test needs."""
    row = b"\x00" + bytes(rgb) * width
    body = (
        _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + _chunk(b"IDAT", zlib.compress(row * height))
        + _chunk(b"IEND", b"")
    )
    return b"\x89PNG\r\n\x1a\n" + body + b"\x00" * pad


def gif(width: int = 5, height: int = 7) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00\x00\x00" + b"\x3b"


def jpeg(width: int = 640, height: int = 480, exif: int = 100) -> bytes:
    """SOI, `exif` bytes of APP1 segments, a quantisation table, the baseline frame header, EOI."""
    app1 = b""
    while exif > 0:
        part, exif = min(exif, 60_000), exif - 60_000
        app1 += b"\xff\xe1" + struct.pack(">H", part + 2) + b"E" * part
    dqt = b"\xff\xdb" + struct.pack(">H", 67) + b"\x00" + b"\x01" * 64
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\x01\x11\x00\x02\x11\x01\x03\x11\x01"
    return b"\xff\xd8" + app1 + dqt + sof + b"\xff\xd9"


def webp_vp8x(width: int = 300, height: int = 200) -> bytes:
    data = b"\x00\x00\x00\x00" + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + 8 + len(data)) + b"WEBP" + b"VP8X" + struct.pack("<I", len(data)) + data


def webp_vp8l(width: int = 17, height: int = 9) -> bytes:
    bits = (width - 1) | ((height - 1) << 14)
    data = b"\x2f" + bits.to_bytes(4, "little") + b"\x00" * 5
    return b"RIFF" + struct.pack("<I", 4 + 8 + len(data)) + b"WEBP" + b"VP8L" + struct.pack("<I", len(data)) + data


def webp_vp8(width: int = 64, height: int = 48) -> bytes:
    data = b"\x10\x02\x00" + b"\x9d\x01\x2a" + struct.pack("<HH", width, height) + b"\x00" * 4
    return b"RIFF" + struct.pack("<I", 4 + 8 + len(data)) + b"WEBP" + b"VP8 " + struct.pack("<I", len(data)) + data


def pdf() -> bytes:
    return b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def mp4() -> bytes:
    return struct.pack(">I", 24) + b"ftypisom" + b"\x00\x00\x02\x00" + b"isomiso2" + struct.pack(">I", 8) + b"free"
