"""The `rooms` list that every user who sees the public rooms only and has read none shares, kept up to
date as rooms come (collab.chat.rooms builds and serves it)."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from collab.events import ChannelInfo
from collab.realtime.frames import json_frame

# A `rooms` list names at most this many rooms (the user's own first, then the most active).
MAX_LISTED = 200


@dataclass(frozen=True)
class PlainList:
    """The `rooms` list of a user who sees the public rooms only and has read none."""

    version: int  # `Rooms._version` it was built at
    expires: float  # monotonic time after which its entries (their `online` counts) are rebuilt
    shown: list[ChannelInfo]
    listed: frozenset[str] | None  # the names, when the list is cut
    rooms: list[dict[str, Any]]
    total: int

    @cached_property
    def frame(self) -> dict[str, Any]:
        """The `rooms` frame (one object, so that a sender can tell it from a list built for one user)."""
        return {"type": "rooms", "rooms": self.rooms, "total": self.total}

    @cached_property
    def wire(self) -> bytes:
        """The frame encoded once for every socket that gets it: two hundred entries were encoded again
        for each new socket, a twentieth of a connect's CPU."""
        return json_frame(self.frame)

    def with_room(self, info: ChannelInfo, entry: dict[str, Any], version: int) -> PlainList:
        """This list with a new public room (`entry`) at `version`: what building it again would give.
        Below MAX_LISTED the room takes its place by name. At or above it the list is cut, and the new
        room, with no event yet and last of the rooms, is the least active: not shown, only counted."""
        if self.listed is None and self.total < MAX_LISTED:
            at = bisect.bisect([shown.name for shown in self.shown], info.name)
            shown, rooms = [*self.shown], [*self.rooms]
            shown.insert(at, info)
            rooms.insert(at, entry)
            return replace(self, version=version, shown=shown, rooms=rooms, total=self.total + 1)
        listed = self.listed if self.listed is not None else frozenset(shown.name for shown in self.shown)
        return replace(self, version=version, listed=listed, total=self.total + 1)
