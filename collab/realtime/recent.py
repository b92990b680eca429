"""The recent events of each channel, already framed (collab.realtime.frames), so that a client coming
back from a short outage (the common case: a tunnel, a closed lid) is answered from memory instead of the
database.

Only a contiguous run of seqs is kept per channel: an event that does not follow the last one (a gap,
which a missed broker message would cause) starts the run again. A byte budget across all channels
bounds memory; the channels appended to least recently give way first.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from itertools import islice


class RecentRun:
    __slots__ = ("bytes", "frames", "last")

    def __init__(self) -> None:
        self.frames: deque[tuple[int, bytes]] = deque()
        self.last = 0
        self.bytes = 0

    @property
    def first(self) -> int:
        """The lowest seq kept (last + 1 when empty)."""
        return self.frames[0][0] if self.frames else self.last + 1


class RecentEvents:
    def __init__(self, budget_bytes: int = 64 * 1024 * 1024, per_channel: int = 20_000) -> None:
        self.budget = budget_bytes
        self.per_channel = per_channel
        self.total = 0
        self.runs: OrderedDict[str, RecentRun] = OrderedDict()

    def add(self, channel: str, seq: int, text: bytes) -> None:
        run = self.runs.get(channel)
        if run is None:
            run = self.runs[channel] = RecentRun()
        else:
            self.runs.move_to_end(channel)
        if run.frames and seq != run.last + 1:
            if seq <= run.last:
                return  # delivered twice: the first copy is kept
            self.total -= run.bytes
            run.frames.clear()
            run.bytes = 0
        run.frames.append((seq, text))
        run.last = seq
        run.bytes += len(text)
        self.total += len(text)
        if len(run.frames) > self.per_channel:
            self._drop_oldest(run)
        while self.total > self.budget and self.runs:
            oldest_name, oldest = next(iter(self.runs.items()))
            self._drop_oldest(oldest)
            if not oldest.frames:
                del self.runs[oldest_name]

    def _drop_oldest(self, run: RecentRun) -> None:
        _, text = run.frames.popleft()
        run.bytes -= len(text)
        self.total -= len(text)

    def after(self, channel: str, since: int) -> list[tuple[int, bytes]] | None:
        """Every kept frame with seq > since, or None when the run does not reach back to since + 1."""
        run = self.runs.get(channel)
        if run is None or not run.frames or run.first > since + 1:
            return None
        return list(islice(run.frames, max(0, since + 1 - run.first), None))

    def last_seq(self, channel: str) -> int:
        run = self.runs.get(channel)
        return run.last if run is not None else 0
