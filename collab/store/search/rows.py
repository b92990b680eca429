"""An event's row of the search index, made in the caller of `append` (like the event's own row, so the
writer's transaction only inserts it), and the same for the migration that indexes an existing log.

The row holds the event's tokens (`collab.store.search.terms`) at their positions and its *facets*:
tokens for the channel, the user and the type (a 64-bit hash of the name, so any name is one token), and
`kdm` on a direct message. A query names them beside its words (`collab.store.search.query`), so the
full-text index itself narrows a search to a channel, a user or a type, or leaves direct messages out,
before any event row is read; the event's columns are compared too, so a hash collision finds nothing
more. Only events with text are indexed.

- SQLite (FTS5): `(words, facets)`, each its tokens joined by spaces. FTS5's `ascii` tokenizer splits
  there and nowhere else (every token is letters and digits, and only ASCII ones fold). ASCII text whose
  words are short enough to be kept whole is passed as it is: that tokenizer splits it into exactly the
  tokens `tokens()` gives (runs of ASCII letters and digits, lower-cased), at the same positions, without
  the Python work — most of what people type, on every append.
- PostgreSQL: one tsvector literal, `'word':1 'other':2 'word':3 '_c…'`: each word at its position
  (PostgreSQL merges a word's positions and keeps its first 256), facets without, spelled with a leading
  `_`, which no word has.
"""

from __future__ import annotations

import hashlib
import operator
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from collab.events import NewEvent
from collab.naming import channel_kind
from collab.store.search.terms import MAX_TOKEN_CHARS, MAX_TOKENS, tokens
from collab.store.search.typed import typed_text

DM_FACET = "kdm"
# On SQLite every row also carries `EVERY_FACET`: a search with no term of its own (a time window alone)
# names it, as FTS5 cannot walk a contentless table but through a term.
EVERY_FACET = "any"
# ASCII text below this length cannot hold more than MAX_TOKENS tokens (each is a character and a space).
_WHOLE_ASCII = 2 * MAX_TOKENS
_ASCII_WORD = re.compile(r"[A-Za-z0-9]")
_ASCII_WORDS = re.compile(r"[a-z0-9]+")
_LONG_ASCII_WORD = re.compile(rf"[A-Za-z0-9]{{{MAX_TOKEN_CHARS + 1}}}")


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


# (channel, user, type) -> the facets as SQLite's column and as PostgreSQL's lexemes: one author writes
# many events. A dict, not `lru_cache`, whose key-making is a third of a microsecond; emptied when full.
_FACET_TERMS: dict[tuple[str, str | None, str], tuple[str, str]] = {}
_FACET_TERMS_MAX = 65536


def _facet_terms(channel: str, user_id: str | None, event_type: str) -> tuple[str, str]:
    key = (channel, user_id, event_type)
    found = _FACET_TERMS.get(key)
    if found is None:
        if len(_FACET_TERMS) >= _FACET_TERMS_MAX:
            _FACET_TERMS.clear()
        marks = facets(channel, user_id, event_type)
        found = _FACET_TERMS[key] = (" ".join([*marks, EVERY_FACET]), " ".join(f"'_{mark}'" for mark in marks))
    return found


# What follows the n-th word of a tsvector literal (`'word':n '`), made once: joining words with them is
# a third faster than formatting each pair.
_AFTER_WORD = [f"':{position} '" for position in range(1, MAX_TOKENS + 1)]


def postgres_terms(words: list[str], marks: str) -> str:
    """A tsvector literal: each word at its position, then `marks` (the facets' lexemes, quoted: the last
    word's suffix has opened the first one's quote)."""
    return "'" + "".join(map(operator.add, words, _AFTER_WORD)) + marks[1:]


def index_terms(
    postgres: bool, channel: str, event_type: str, user_id: str | None, data: Any
) -> tuple[str, str] | str | None:
    """The event's index terms for the database (None: no text, not indexed)."""
    text = typed_text(event_type, data)
    if not text:
        return None
    sqlite_marks, postgres_marks = _facet_terms(channel, user_id, event_type)
    length = len(text)
    if text.isascii() and length < _WHOLE_ASCII and (length <= MAX_TOKEN_CHARS or not _LONG_ASCII_WORD.search(text)):
        # `tokens(text)` without its general case: no word to cut, no limit to reach, lower() to fold.
        if not postgres:
            return (text, sqlite_marks) if text[0].isalnum() or _ASCII_WORD.search(text) else None
        words = _ASCII_WORDS.findall(text.lower())
    else:
        words = tokens(text)
    if not words:
        return None
    return postgres_terms(words, postgres_marks) if postgres else (" ".join(words), sqlite_marks)


def indexer(postgres: bool) -> Callable[[NewEvent], Any]:
    """What the writer's pending events make their index terms with (`collab.store.rows.Pending`): None
    for an event without text. On SQLite none make any: its index catches up from the log
    (collab.store.search.writes)."""

    def index_row(event: NewEvent) -> Any:
        return index_terms(True, event.channel, event.type, event.user_id, event.data)

    return index_row if postgres else _no_terms


def _no_terms(_event: NewEvent) -> None:
    return None
