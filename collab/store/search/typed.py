"""What users typed, read out of an event's payload: the text the search index keeps and the snippets
show. One reading for the writer, the migration that indexes an existing log, and the snippets.

- text fields (`TEXT_FIELDS`): a message's or direct message's `content`, a card's or a column's
  `title`, a card's `description`, a media item's `media.title` and `media.description`;
- lists of text (`LIST_FIELDS`): a card's `labels`, a media item's `media.tags`;
- a published event's (`PUBLISHED_TYPE`) `data` when it is text, or the text inside it: every string
  value of its objects and arrays (not the keys), objects read in key order, so the order does not depend
  on the database (PostgreSQL's JSONB keeps keys in an order of its own).

Not indexed: ids, types, names of published events, numbers, and documents: a document's events are
binary CRDT updates (a few keystrokes each, with no words of their own until the whole document is
folded); a document's text is `GET /api/docs/{name}`.
"""

from __future__ import annotations

from typing import Any

from collab.events import PUBLISHED_TYPE
from collab.store.search.terms import MAX_TEXT_CHARS

TEXT_FIELDS = (("content",), ("title",), ("description",), ("media", "title"), ("media", "description"))
LIST_FIELDS = (("labels",), ("media", "tags"))
# How deep a published payload is read (deeper text is not indexed).
MAX_DEPTH = 16


def _at(data: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = data
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _strings(value: Any, into: list[str], depth: int = 0) -> None:
    if isinstance(value, str):
        into.append(value)
    elif depth < MAX_DEPTH and isinstance(value, dict):
        for key in sorted(value):
            _strings(value[key], into, depth + 1)
    elif depth < MAX_DEPTH and isinstance(value, list):
        for item in value:
            _strings(item, into, depth + 1)


def typed_texts(event_type: str, data: Any) -> list[str]:
    """The pieces of text users typed into this event, in a fixed order (empty for none)."""
    if not isinstance(data, dict):
        return []
    found: list[str] = []
    for path in TEXT_FIELDS:
        value = data.get(path[0]) if len(path) == 1 else _at(data, path)
        if isinstance(value, str):
            found.append(value)
    for path in LIST_FIELDS:
        value = data.get(path[0]) if len(path) == 1 else _at(data, path)
        if isinstance(value, list):
            found.extend(item for item in value if isinstance(item, str))
    if event_type == PUBLISHED_TYPE:
        _strings(data.get("data"), found)
    return found


def typed_text(event_type: str, data: Any) -> str:
    """The pieces joined by line breaks and cut to `MAX_TEXT_CHARS`: what is tokenized and shown."""
    pieces = typed_texts(event_type, data)
    if not pieces:
        return ""
    text = pieces[0] if len(pieces) == 1 else "\n".join(pieces)
    return text[:MAX_TEXT_CHARS]
