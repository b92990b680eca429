"""An event's row of the search index, made in the caller of `append` (like the event's own row, so the
writer's transaction only inserts it), and the same for the migration that indexes an existing log.

The row holds the event's tokens (`collab.store.search.terms`) at their positions and its *facets*:
tokens for the channel, the user and the type (a 64-bit hash of the name, so any name is one token), and
`kdm` on a direct message. A query names them beside its words (`collab.store.search.query`), so the
full-text index itself narrows a search to a channel, a user or a type, or leaves direct messages out,
before any event row is read; the event's columns are compared too, so a hash collision finds nothing
more. Only events with text are indexed.

- SQLite (FTS5): `(words, facets)`, each its tokens joined by spaces.
- PostgreSQL: one tsvector literal, `'word':1,4 'other':2 '_c…'`: words with their positions (at most
  256 per word, as PostgreSQL keeps), facets without, spelled with a leading `_`, which no word has.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from collab.events import NewEvent
from collab.naming import channel_kind
from collab.store.search.terms import tokens
from collab.store.search.typed import typed_text

DM_FACET = "kdm"
MAX_POSITIONS = 256  # per word, what a PostgreSQL tsvector keeps


@lru_cache(maxsize=65536)
def facet(kind: str, name: str) -> str:
    """The facet token of a channel (`c`), user (`u`) or type (`t`) name."""
    return kind + hashlib.blake2b(name.encode(), digest_size=8).hexdigest()


def facets(channel: str, user_id: str | None, event_type: str) -> list[str]:
    found = [facet("c", channel), facet("t", event_type)]
    if user_id is not None:
        found.append(facet("u", user_id))
    if channel_kind(channel) == "dm":
        found.append(DM_FACET)
    return found


def sqlite_terms(words: list[str], marks: list[str]) -> tuple[str, str]:
    return " ".join(words), " ".join(marks)


def postgres_terms(words: list[str], marks: list[str]) -> str:
    positions: dict[str, list[str]] = {}
    for position, word in enumerate(words, 1):
        seen = positions.get(word)
        if seen is None:
            positions[word] = [str(position)]
        elif len(seen) < MAX_POSITIONS:
            seen.append(str(position))
    lexemes = [f"'{word}':{','.join(at)}" for word, at in positions.items()]
    lexemes.extend(f"'_{mark}'" for mark in marks)
    return " ".join(lexemes)


def index_terms(
    postgres: bool, channel: str, event_type: str, user_id: str | None, data: Any
) -> tuple[str, str] | str | None:
    """The event's index terms for the database (None: no text, not indexed)."""
    words = tokens(typed_text(event_type, data))
    if not words:
        return None
    marks = facets(channel, user_id, event_type)
    return postgres_terms(words, marks) if postgres else sqlite_terms(words, marks)


def indexer(postgres: bool) -> Callable[[NewEvent], Any]:
    """What the writer's pending events make their index terms with (`collab.store.rows.Pending`): None
    for an event without text."""

    def index_row(event: NewEvent) -> Any:
        return index_terms(postgres, event.channel, event.type, event.user_id, event.data)

    return index_row
