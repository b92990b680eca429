"""Values clients send, checked one way wherever they arrive (query parameters, frames, cursors, bodies):
whole numbers, ages, and text a database can store. Each check gives the value or raises `ProtocolError`
naming the parameter, so a bad one is a 400 (or an `error` frame), never a 500 or a database's error.

- A whole number is ASCII digits (`str.isdigit` also takes `²` and `٣`, which `int()` then refuses or
  reads as another number) and fits a signed 64-bit integer, the databases' BIGINT.
- An age (`90s`, `15m`, `24h`, `7d`, `2w`) is at most `MAX_AGE_SECONDS`: a century, older than any
  event stored, and well inside what `datetime` can subtract from now.
- Text holds no U+0000: PostgreSQL refuses it (in TEXT and in JSONB alike) while SQLite stores it,
  so without this rule one store would keep what the other refuses, with its own error text.
"""

from __future__ import annotations

import re
from typing import Any

from collab.errors import ProtocolError

INT64_MAX = 2**63 - 1
MAX_AGE_SECONDS = 100 * 365 * 86400
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# At most 19 digits (INT64_MAX has 19): a longer string is out of range before `int()` reads it.
_DIGITS = re.compile(r"[0-9]{1,19}")
_AGE = re.compile(r"([0-9]{1,19})([smhdw]?)")
# U+0000 in JSON text as orjson writes it: `\u0000` after an even number of backslashes (an odd number
# makes it the six characters `\u0000` a user typed, which any store keeps).
_JSON_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def whole_number(raw: str, key: str, *, minimum: int = 0, maximum: int = INT64_MAX) -> int:
    """`raw` as an int from `minimum` to `maximum`, or `ProtocolError` naming `key`."""
    if _DIGITS.fullmatch(raw):
        value = int(raw)
        if minimum <= value <= maximum:
            return value
    raise ProtocolError(f"'{key}' must be a whole number from {minimum} to {maximum}")


def in_range(value: Any, key: str, *, minimum: int = 0, maximum: int = INT64_MAX) -> int:
    """A number that came as JSON: an int (not a bool) from `minimum` to `maximum`, or `ProtocolError`."""
    if isinstance(value, int) and not isinstance(value, bool) and minimum <= value <= maximum:
        return value
    raise ProtocolError(f"'{key}' must be a whole number from {minimum} to {maximum}")


def age_seconds(text: str, key: str, *, maximum: int = MAX_AGE_SECONDS) -> int:
    """`90s`, `15m`, `24h`, `7d`, `2w` or a bare number of seconds, as seconds; at most `maximum`."""
    match = _AGE.fullmatch(text.strip())
    if not match:
        raise ProtocolError(f"'{key}' must be a duration like 15m, 24h or 90d")
    seconds = int(match.group(1)) * UNIT_SECONDS[match.group(2) or "s"]
    if seconds > maximum:
        raise ProtocolError(f"'{key}' must be at most {maximum} seconds ({maximum // 86400} days)")
    return seconds


def check_text(value: str | None, key: str) -> str | None:
    """`value` unless it holds U+0000 (`ProtocolError` naming `key`)."""
    if value is not None and "\x00" in value:
        raise ProtocolError(f"'{key}' must not contain the character U+0000 (NUL)")
    return value


def check_json_text(encoded: str | None) -> str | None:
    """JSON text (as orjson writes it) unless a string or key in it holds U+0000."""
    if encoded is not None and "\\u0000" in encoded and _JSON_NUL.search(encoded):
        raise ProtocolError("text must not contain the character U+0000 (NUL)")
    return encoded


__all__ = [
    "INT64_MAX",
    "MAX_AGE_SECONDS",
    "age_seconds",
    "check_json_text",
    "check_text",
    "in_range",
    "whole_number",
]
