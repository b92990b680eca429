"""Rank keys: strings that order the columns and cards of a kanban board.

A rank is a base-36 fraction written without its "0.": "i" is 18/36, "0i" is 18/1296. Keys never end
in "0", so there is always room below a key, and string order is numeric order. A key between two
others is their midpoint, one digit longer at most; `MAX_RANK_LENGTH` bounds the growth: past it the
column is rebalanced (evenly spaced short keys, stored as an event of its own).

Clients order by plain string comparison, which agrees between Python and JavaScript on these ASCII
keys; only the server makes keys.
"""

from __future__ import annotations

import re

DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
BASE = len(DIGITS)
MAX_RANK_LENGTH = 8
_RANK = re.compile(r"^[0-9a-z]*[1-9a-z]\Z")


def is_rank(value: object) -> bool:
    return isinstance(value, str) and len(value) <= 64 and _RANK.match(value) is not None


def rank_between(lo: str | None, hi: str | None) -> str:
    """A key with lo < key < hi (None: no bound on that side). ValueError when there is none (lo ≥ hi,
    or a bound that is not a rank)."""
    if (lo is not None and not is_rank(lo)) or (hi is not None and not is_rank(hi)):
        raise ValueError(f"not a rank: {lo!r}, {hi!r}")
    if lo is not None and hi is not None and lo >= hi:
        raise ValueError(f"no rank between {lo!r} and {hi!r}")
    return _midpoint(lo or "", hi)


def _midpoint(lo: str, hi: str | None) -> str:
    if hi is not None:
        # The common prefix (lo padded with zeros) stays; the midpoint is taken after it.
        n = 0
        while n < len(hi) and (lo[n] if n < len(lo) else "0") == hi[n]:
            n += 1
        if n:
            return hi[:n] + _midpoint(lo[n:], hi[n:])
    low = DIGITS.index(lo[0]) if lo else 0
    high = DIGITS.index(hi[0]) if hi is not None else BASE
    if high - low > 1:
        return DIGITS[(low + high) // 2]
    if hi is not None and len(hi) > 1:
        return hi[0]
    return DIGITS[low] + _midpoint(lo[1:], None)


def spread_ranks(count: int) -> list[str]:
    """`count` increasing keys, evenly spaced over the key space and as short as that allows."""
    length = 1
    while BASE**length < (count + 1) * 8:
        length += 1
    keys = []
    for i in range(1, count + 1):
        value = i * BASE**length // (count + 1)
        digits = []
        for _ in range(length):
            value, digit = divmod(value, BASE)
            digits.append(DIGITS[digit])
        keys.append("".join(reversed(digits)).rstrip("0"))
    return keys
