"""Figures the monitor samples from this process: append latencies (a reservoir per interval for
p50/p99, a cumulative histogram for /metrics) and the resident memory."""

from __future__ import annotations

import bisect
import math
import os
import random
import resource

# Upper bounds (seconds) of the append latency histogram that /metrics exports.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class AppendLatency:
    """Append latencies: from an event's creation (just before `store.append`) to its delivery by the
    broker after the commit, which is what a writer waits for. Per sample interval a reservoir of at
    most `RESERVOIR` latencies gives p50/p99; a cumulative histogram serves /metrics."""

    RESERVOIR = 4096

    def __init__(self) -> None:
        self.window: list[float] = []
        self.seen = 0
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)  # the last one is +Inf
        self.count = 0
        self.total = 0.0

    def record(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self.count += 1
        self.total += seconds
        self.buckets[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.seen += 1
        if len(self.window) < self.RESERVOIR:
            self.window.append(seconds)
        else:  # reservoir sampling: every latency of the interval is equally likely to be kept
            slot = random.randrange(self.seen)
            if slot < self.RESERVOIR:
                self.window[slot] = seconds

    def take(self) -> tuple[float | None, float | None]:
        """p50 and p99 (seconds) of the latencies since the last call; None when there were none."""
        window, self.window, self.seen = self.window, [], 0
        if not window:
            return None, None
        window.sort()
        return _quantile(window, 0.5), _quantile(window, 0.99)


def _quantile(ordered: list[float], q: float) -> float:
    """The nearest-rank quantile of sorted values."""
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_memory_bytes() -> int:
    """This process's resident set size (Linux: /proc/self/statm; elsewhere the peak, from getrusage)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if os.uname().sysname == "Darwin" else peak * 1024
