"""Channel names: which kind a name belongs to, and which names are valid."""

from __future__ import annotations

import re

from collab.errors import ProtocolError

MAX_CHANNEL_LENGTH = 200
_VALID = re.compile(r"^[\w.\-:@]{1,200}\Z")


def channel_kind(name: str) -> str:
    """`kanban:x` → kanban, `dm:a:b` → dm, `monitor` → monitor, `audit` → audit (moderation's
    record, collab.operators.moderation), a bare name → chat."""
    prefix, sep, _ = name.partition(":")
    if sep:
        return prefix
    if name in ("monitor", "media", "audit"):
        return name
    return "chat"


def check_channel_name(name: object) -> str:
    if not isinstance(name, str) or not _VALID.match(name):
        raise ProtocolError("channel names are 1-200 characters of letters, digits and . _ - : @")
    return name
