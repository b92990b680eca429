"""Base's `?room=` clients, in one place: what their frames look like on the way out.

The seed's pages (Base) connect with `room=` instead of `channel=`. They read `room` on every frame
(acks, errors, pongs and room lists included) and want `users_update` (every nickname in the room)
where modern clients get `presence`/`presence_diff`. A session marks itself `legacy_room`; the hub,
the session and presence call these functions for such sessions only, so modern clients pay nothing.
Base's own incoming frame types (`draw`, `cursor_move`, …) are the chat kind's (collab.chat.channels).
"""

from __future__ import annotations

from typing import Any


def with_room(frame: dict[str, Any], room: str | None) -> dict[str, Any]:
    """`frame` with the `room` Base's pages read on every frame (a copy: the original may be shared)."""
    return {**frame, "room": room}


def users_update(names: list[str]) -> dict[str, Any]:
    """Base's presence frame: every nickname in the room, sorted."""
    return {"type": "users_update", "content": sorted(names)}
