"""The `doc` projection: a Yjs document as the fold of the updates stored in `doc:<name>`.

Each event of type `update` carries one Yjs update (v1 encoding) in its blob; folding is applying them
in seq order. A snapshot is the whole document encoded as one update, so snapshot + tail is "apply the
snapshot, then every update after it". The live server (collab.documents.rooms), `collab replay doc:<name>` and
`GET /api/docs/{name}?at=SEQ` all load documents through this projection and `load_state`.
"""

from __future__ import annotations

from typing import Any

from collab.documents import wire as documents
from collab.events import StoredEvent
from collab.projections.base import Projection

UPDATE = "update"


def _apply(doc: Any, event: StoredEvent) -> Any:
    documents.apply_update(doc, event.blob)
    return doc


DOCUMENT = Projection(
    kind="doc",
    initial=documents.new_doc,
    reducers={UPDATE: _apply},
    dump=documents.encode_doc,
    restore=documents.restore_doc,
    binary=True,
    show=documents.show_doc,
)
