"""What users typed, read out of an event's payload: the text the search index keeps and the snippets
show. One reading for the writer, the migration that indexes an existing log, and the snippets.

- text fields: a message's or direct message's `content`, a card's or a column's `title`, a card's
  `description`, a media item's `media.title` and `media.description`;
- lists of text: a card's `labels`, a media item's `media.tags`;
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

TEXT_FIELDS = ("content", "title", "description")  # and the media item's: MEDIA_FIELDS
MEDIA_FIELDS = ("title", "description")
# How deep a published payload is read (deeper text is not indexed).
MAX_DEPTH = 16


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
    """The pieces of text users typed into this event, in a fixed order (empty for none): `content`,
    `title`, `description`, `media.title`, `media.description`, then `labels` and `media.tags`, then a
    published event's `data`. Plain lookups: this runs for every append."""
    if not isinstance(data, dict):
        return []
    found = [value for value in map(data.get, TEXT_FIELDS) if isinstance(value, str)]
    media = data.get("media")
    if not isinstance(media, dict):
        media = None
    else:
        found.extend(value for value in map(media.get, MEDIA_FIELDS) if isinstance(value, str))
    for listed in (data.get("labels"), media.get("tags") if media else None):
        if isinstance(listed, list):
            found.extend(item for item in listed if isinstance(item, str))
    if event_type == PUBLISHED_TYPE:
        _strings(data.get("data"), found)
    return found


def typed_text(event_type: str, data: Any) -> str:
    """The pieces joined by line breaks and cut to `MAX_TEXT_CHARS`: what is tokenized and shown."""
    if type(data) is dict and len(data) == 1 and event_type != PUBLISHED_TYPE:
        # A payload of one field (a chat message's): that field is the text or there is none, read
        # without the general lookups (this runs for every append).
        ((key, value),) = data.items()
        if key in TEXT_FIELDS:
            return value[:MAX_TEXT_CHARS] if type(value) is str else ""
    pieces = typed_texts(event_type, data)
    if not pieces:
        return ""
    text = pieces[0] if len(pieces) == 1 else "\n".join(pieces)
    return text[:MAX_TEXT_CHARS]
