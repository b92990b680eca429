"""Moments as text on every event's path: the wire's `ts` and the text SQLite stores.

`datetime.isoformat` formats each field through C's `sprintf`: about 1 µs a call, twice a message, and 7 %
of a saturated server's instructions (callgrind, 10x10 closed loop). Here the date and the time to the
second are formatted once per second (the events of a stream mostly share it), and only the fraction is
formatted per call. The result is `isoformat`'s, character for character (tests/store/test_timetext.py).
"""

from __future__ import annotations

from datetime import UTC, datetime

# The last second formatted: its fields, then its text as SQLite keeps it and as the wire shows it. One
# tuple, replaced whole, so a reader on another thread never sees half of it.
_last: tuple[tuple[int, ...], str, str] = ((), "", "")
_MILLIS_Z = tuple(f".{ms:03d}Z" for ms in range(1000))


def _second(moment: datetime) -> tuple[tuple[int, ...], str, str]:
    last = _last
    key = (moment.second, moment.minute, moment.hour, moment.day, moment.month, moment.year)
    if key == last[0]:
        return last
    return _remember(key)


def _remember(key: tuple[int, ...]) -> tuple[tuple[int, ...], str, str]:
    global _last
    second, minute, hour, day, month, year = key
    text = f"{year:04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}"
    _last = (key, text, f"{text[:10]}T{text[11:]}")
    return _last


def wire_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, to the millisecond: `2026-12-08T01:01:34.712Z`. A naive moment is
    taken as local time, as `astimezone` takes it."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return _second(moment)[2] + _MILLIS_Z[moment.microsecond // 1000]


def sqlite_timestamp(moment: datetime) -> str:
    """A moment in UTC (aware, or naive and meant as UTC) as SQLite keeps it, in the form SQLAlchemy reads
    back: `2026-12-08 01:01:34.712825`."""
    return f"{_second(moment)[1]}.{moment.microsecond:06d}"
