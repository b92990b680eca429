"""WebSocket frames as they go on the wire: made once, written to any number of sockets.

A frame the server sends is its header (RFC 6455 §5.2: FIN set, no mask, the opcode and the payload's
length) followed by the payload. The header depends only on the opcode and the length, so the bytes of
a frame are the same for every socket that gets it: an event fanned out to a thousand clients is framed
once, and each socket's share is appending those bytes to its outbox (collab.realtime.connection), whose
frames of one loop turn go out in one write.
"""

from __future__ import annotations

import struct

import orjson

TEXT = 0x1
BINARY = 0x2

_FIN = 0x80
_HEADER_16 = struct.Struct("!BBH").pack
_HEADER_64 = struct.Struct("!BBQ").pack


def wire_frame(payload: bytes, opcode: int) -> bytes:
    """One whole server-to-client frame carrying `payload`."""
    length = len(payload)
    first = _FIN | opcode
    if length < 126:
        return bytes((first, length)) + payload
    if length < 65536:
        return _HEADER_16(first, 126, length) + payload
    return _HEADER_64(first, 127, length) + payload


def text_frame(text: str | bytes) -> bytes:
    """A text frame of `text` (bytes are taken as its UTF-8 encoding)."""
    return wire_frame(text.encode() if isinstance(text, str) else text, TEXT)


def binary_frame(data: bytes) -> bytes:
    return wire_frame(data, BINARY)


def json_frame(data: object) -> bytes:
    """A text frame of `data` as JSON: orjson's bytes go on the wire without a detour through `str`."""
    return wire_frame(orjson.dumps(data), TEXT)


def frame_payload(wire: bytes) -> bytes:
    """The payload of a frame made by `wire_frame` (its header dropped)."""
    length = wire[1] & 0x7F
    return wire[2 + (2 if length == 126 else 8 if length == 127 else 0) :]
