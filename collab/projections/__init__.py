"""Projections of channel kinds: pure folds of the log (base), their live copies (live), and the
registry that `collab replay` and the server share (registry)."""

from collab.projections.base import Loaded, Projection, load_state
from collab.projections.live import LiveProjection, LiveState

__all__ = ["LiveProjection", "LiveState", "Loaded", "Projection", "load_state"]
