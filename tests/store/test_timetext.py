"""The cached timestamp formats give exactly what `isoformat` gives, whatever order moments come in."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

from collab.timetext import sqlite_timestamp, wire_timestamp


def _wire_by_isoformat(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _sqlite_by_isoformat(moment: datetime) -> str:
    return moment.isoformat(" ", "microseconds")[:26]


def test_both_formats_match_isoformat_across_seconds_days_and_years() -> None:
    rng = random.Random(13)
    start = datetime(1999, 12, 31, 23, 59, 58, 999_500, tzinfo=UTC)
    moments = [start + timedelta(microseconds=step * 250) for step in range(20_000)]  # across the year 2000
    moments += [datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)]
    moments += [
        datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(10**8), microseconds=rng.randrange(10**6))
        for _ in range(2_000)
    ]
    head = moments[:500]
    rng.shuffle(head)  # a stream whose seconds interleave
    moments[:500] = head
    for moment in moments:
        assert wire_timestamp(moment) == _wire_by_isoformat(moment)
        assert sqlite_timestamp(moment) == _sqlite_by_isoformat(moment)


def test_a_moment_in_another_zone_is_shown_in_utc_on_the_wire() -> None:
    moment = datetime(2026, 12, 8, 3, 4, 5, 678_901, tzinfo=timezone(timedelta(hours=2)))
    assert wire_timestamp(moment) == "2026-12-08T01:04:05.678Z"
    assert wire_timestamp(moment) == _wire_by_isoformat(moment)


def test_a_naive_utc_moment_is_kept_as_it_is_for_sqlite() -> None:
    moment = datetime(2026, 12, 8, 1, 2, 3, 4)
    assert sqlite_timestamp(moment) == "2026-12-08 01:02:03.000004"
