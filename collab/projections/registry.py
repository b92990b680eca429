"""Projections by channel kind. The machinery knows no wing: each wing defines its projections and the
composition root (collab.engine.PROJECTIONS) registers them, for the server, `collab replay` and prune."""

from __future__ import annotations

from collections.abc import Iterable

from collab.errors import NotFound
from collab.naming import channel_kind
from collab.projections.base import Projection


class Projections:
    """A channel kind → its projection (at most one each)."""

    def __init__(self, projections: Iterable[Projection] = ()) -> None:
        self._by_kind: dict[str, Projection] = {}
        for projection in projections:
            self.register(projection)

    def register(self, projection: Projection) -> None:
        if projection.kind in self._by_kind:
            raise ValueError(f"channels of kind {projection.kind!r} have a projection already")
        self._by_kind[projection.kind] = projection

    def of_kind(self, kind: str) -> Projection:
        """The projection registered for channels of `kind` (`KeyError` if none is)."""
        return self._by_kind[kind]

    def get(self, channel: str) -> Projection | None:
        """The projection of `channel`'s kind, None for a kind without projected state."""
        return self._by_kind.get(channel_kind(channel))

    def for_channel(self, channel: str) -> Projection:
        """The projection of `channel`'s kind, or `NotFound` naming the kinds that have one."""
        projection = self.get(channel)
        if projection is None:
            kinds = ", ".join(sorted(self._by_kind)) or "none yet"
            raise NotFound(
                f"channels of kind {channel_kind(channel)!r} have no projected state (kinds with one: {kinds})"
            )
        return projection
