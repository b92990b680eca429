"""Rate limits on what a client sends: token buckets, what each frame costs, and the buckets a user's
connections share."""

from __future__ import annotations

import time

# What a `/ws` frame takes from the buckets, by type (docs/protocol.md, "Limits"): about what it costs
# the server to answer, in chat messages (bench/amplification_bench.py: a message ~0.05 ms of CPU, a
# `read` ~2 ms). `read` writes a position and sends receipts; `create_room` writes and tells every
# socket; `list_rooms` builds the user's list, `list_dms` reads theirs from the database; `subscribe`
# reads the store and may replay; `sync` sends a board's whole state. Everything else (appends, `ping`,
# `unsubscribe`, a binary or malformed frame) costs 1.
FRAME_COSTS: dict[str, int] = {
    "read": 50,
    "create_room": 50,
    "list_rooms": 20,
    "list_dms": 20,
    "subscribe": 20,
    "sync": 20,
}


def frame_cost(frame_type: str) -> int:
    return FRAME_COSTS.get(frame_type, 1)


class TokenBucket:
    """`rate` tokens per second on average, bursts up to `burst`; a frame takes its cost in tokens."""

    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, float(burst)
        self.tokens, self.stamp = float(burst), time.monotonic()

    def affords(self, cost: float = 1, now: float | None = None) -> bool:
        """Refill for the time since the last call (`now`: `time.monotonic()`, if the caller has it),
        then say whether `cost` can be paid. A cost above the burst could never be paid: it needs a
        full bucket instead."""
        if now is None:
            now = time.monotonic()
        tokens = self.tokens + (now - self.stamp) * self.rate
        burst = self.burst
        self.tokens = tokens if tokens < burst else burst
        self.stamp = now
        return self.tokens >= (cost if cost < burst else burst)

    def spend(self, cost: float = 1) -> None:
        """Take `cost` tokens (after `affords` said yes)."""
        self.tokens -= cost if cost < self.burst else self.burst

    def take(self, cost: float = 1) -> bool:
        if self.affords(cost):
            self.spend(cost)
            return True
        return False


def take_all(cost: float, buckets: tuple[TokenBucket, ...]) -> bool:
    """Take `cost` from every bucket, or from none when one of them cannot pay it: a frame refused by
    the user's bucket leaves the connection's alone, and the other way round. (Every frame of every
    client comes here: one clock read for all the buckets, and no generator.)"""
    now = time.monotonic()
    for bucket in buckets:
        if not bucket.affords(cost, now):
            return False
    for bucket in buckets:
        bucket.spend(cost)
    return True


class UserBudgets:
    """Per user id, the bucket that user's `/ws` connections in this process share, and how many are
    open: opening more connections gives a user no more frames per second. A user's bucket is dropped
    when their last connection closes (a user who comes back starts with a full one)."""

    __slots__ = ("_buckets", "_open", "burst", "max_connections", "rate")

    def __init__(self, rate: float, burst: int, max_connections: int) -> None:
        self.rate, self.burst, self.max_connections = rate, burst, max_connections
        self._buckets: dict[str, TokenBucket] = {}
        self._open: dict[str, int] = {}

    def open(self, user_id: str) -> TokenBucket | None:
        """The user's shared bucket for one more connection; None when they have `max_connections`
        open already (nothing is counted then)."""
        count = self._open.get(user_id, 0)
        if count >= self.max_connections:
            return None
        self._open[user_id] = count + 1
        bucket = self._buckets.get(user_id)
        if bucket is None:
            bucket = self._buckets[user_id] = TokenBucket(self.rate, self.burst)
        return bucket

    def close(self, user_id: str) -> None:
        """One of the user's connections (opened with `open`) is gone."""
        count = self._open.get(user_id, 0) - 1
        if count > 0:
            self._open[user_id] = count
        else:
            self._open.pop(user_id, None)
            self._buckets.pop(user_id, None)

    def connections(self, user_id: str) -> int:
        return self._open.get(user_id, 0)

    def __len__(self) -> int:
        """Users with a bucket (with a connection open) in this process."""
        return len(self._buckets)
