"""The name of a direct-message channel: one name per pair of users, whatever their ids contain.

A pair whose ids have no ':' is named `dm:<a>:<b>`, the ids sorted: the form every DM channel has had.
With a ':' in an id that form is ambiguous (`dm:x:y:z` is both (x, y:z) and (x:y, z)), so such a pair
is named `dm:<e(a)>@@<e(b)>` instead: no ':' after the kind, which a name of the first form (two at
least) never is. `e` keeps letters, digits, `_`, `.` and `-`, and writes every other character as `@`
and its UTF-8 bytes in hex (`:` → `@3a`, `@` → `@40`); it never makes `@@`, so the separator is found
again, and two pairs never share a name.

Before this scheme, pairs with a ':' in an id were named in the first form too; such a channel (more
than two ':') is read by its stored members only if they are exactly one pair the name can spell: one
that two pairs were put in is left to admins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

PREFIX = "dm:"
SEPARATOR = "@@"
_KEPT = re.compile(r"[\w.\-]")
_ESCAPE = re.compile(r"@([0-9a-f]{2})")


def _encode(user_id: str) -> str:
    return "".join(
        char if char != "@" and _KEPT.fullmatch(char) else "".join(f"@{byte:02x}" for byte in char.encode())
        for char in user_id
    )


def _decode(text: str) -> str | None:
    """The id `_encode` made `text` from, or None if it made no such text."""
    raw = bytearray()
    position = 0
    for escape in _ESCAPE.finditer(text):
        raw += text[position : escape.start()].encode()
        raw.append(int(escape.group(1), 16))
        position = escape.end()
    raw += text[position:].encode()
    try:
        user_id = raw.decode()
    except UnicodeDecodeError:
        return None
    return user_id if user_id and _encode(user_id) == text else None


def dm_channel(user_a: str, user_b: str) -> str:
    """The one channel of the pair (in either order)."""
    first, second = sorted((user_a, user_b))
    if ":" in first or ":" in second:
        return f"{PREFIX}{_encode(first)}{SEPARATOR}{_encode(second)}"
    return f"{PREFIX}{first}:{second}"


def dm_pair(name: str) -> tuple[str, str] | None:
    """The pair (sorted) `dm_channel` names `name`; None for a name it never gives."""
    if not name.startswith(PREFIX):
        return None
    rest = name[len(PREFIX) :]
    if ":" in rest:
        first, _, second = rest.partition(":")
    else:
        encoded_first, _, encoded_second = rest.partition(SEPARATOR)
        first, second = _decode(encoded_first) or "", _decode(encoded_second) or ""
    if not first or not second or dm_channel(first, second) != name:
        return None
    return first, second


def _old_pairs(name: str) -> list[frozenset[str]]:
    """The pairs an old `dm:<a>:<b>` name of ids with ':' could be of: one per ':' it may be split at."""
    rest = name[len(PREFIX) :]
    pairs = []
    for at in (match.start() for match in re.finditer(":", rest)):
        first, second = rest[:at], rest[at + 1 :]
        if first and second and first <= second:
            pairs.append(frozenset((first, second)))
    return pairs


def dm_readers(name: str, members: Iterable[str]) -> frozenset[str]:
    """Who may read DM channel `name` (besides admins): its pair; for an old name of ids with ':', its
    stored `members` when they are one pair the name spells, else nobody."""
    pair = dm_pair(name)
    if pair is not None:
        return frozenset(pair)
    stored = frozenset(members)
    if name.startswith(PREFIX) and name.count(":") > 2 and stored in _old_pairs(name):
        return stored
    return frozenset()
