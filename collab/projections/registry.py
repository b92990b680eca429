"""Every projection by channel kind. A module that defines one is imported and listed here."""

from __future__ import annotations

from collab.boards.drawing import DRAWING
from collab.boards.kanban import KANBAN
from collab.documents.projection import DOCUMENT
from collab.errors import NotFound
from collab.naming import channel_kind
from collab.projections.base import Projection

PROJECTIONS: dict[str, Projection] = {projection.kind: projection for projection in (KANBAN, DRAWING, DOCUMENT)}


def projection_for(channel: str) -> Projection:
    projection = PROJECTIONS.get(channel_kind(channel))
    if projection is None:
        kinds = ", ".join(sorted(PROJECTIONS)) or "none yet"
        raise NotFound(f"channels of kind {channel_kind(channel)!r} have no projected state (kinds with one: {kinds})")
    return projection
