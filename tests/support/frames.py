"""Reading back what a connection wrote: whole WebSocket frames, possibly many in one write."""

from __future__ import annotations

import struct


def split_frames(data: bytes) -> list[tuple[int, bytes]]:
    """The (opcode, payload) of every server frame in `data` (unmasked, unfragmented, as
    collab.realtime.frames makes them); an incomplete frame is an error."""
    frames = []
    at = 0
    while at < len(data):
        opcode = data[at] & 0x0F
        length = data[at + 1] & 0x7F
        at += 2
        if length == 126:
            (length,) = struct.unpack_from("!H", data, at)
            at += 2
        elif length == 127:
            (length,) = struct.unpack_from("!Q", data, at)
            at += 8
        if at + length > len(data):
            raise ValueError(f"a frame of {length} bytes is cut short at {len(data) - at}")
        frames.append((opcode, data[at : at + length]))
        at += length
    return frames
