"""Words as the search index keeps them: one normalization and one tokenizer, in Python, for both databases.

Neither database tokenizes: SQLite's FTS5 table gets the tokens joined by spaces (its `ascii` tokenizer
splits on ASCII separators only, and every token here is free of them) and PostgreSQL gets a tsvector
written out token by token (`collab.store.search.rows`). So both index exactly the same words at the
same positions, and a query (`collab.store.search.query`) is normalized by the same code: what one
database finds, the other finds.

- Case- and accent-insensitive: compatibility decomposition (NFKD), case folding, NFKD and folding again
  (folding can produce decomposable letters, and decomposing capitals: `\U0001d400` is `A`), then the nonspacing
  and enclosing marks (the accents) are dropped:
  `Café`, `CAFÉ`, `cafe` and a decomposed `cafe\u0301` are one word; `ﬁ` is `fi`, `Straße` is `strasse`.
- A token is a run of letters, digits and spacing marks (the vowel signs of Indic scripts, which are part
  of their words); everything else separates. `e-mail` is two tokens, which a query reads as a phrase.
- Bounded: a token is cut to `MAX_TOKEN_CHARS`, an event's text to `MAX_TEXT_CHARS` and its tokens to
  `MAX_TOKENS` (PostgreSQL's last position; past it positions would all collapse onto one).

The character classes come from Python's Unicode tables (`unicodedata`, built on first use: 0.1 s). A
Python whose tables differ could split a newly assigned character differently; rebuild the index then
(`collab.store.search.build`).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

MAX_TOKEN_CHARS = 64
MAX_TEXT_CHARS = 131_072
MAX_TOKENS = 16_383

# Where a text may be cut into pieces that normalize independently: white space and ASCII punctuation
# (each is its own normalization and never part of a token, and the marks NFKD reorders never cross it).
_SEGMENT = re.compile(r"[^\s!-/:-@\[-`{-~]+")


@cache
def _tables() -> tuple[dict[int, None], re.Pattern[str]]:
    """The marks to drop (Mn, Me) and the token pattern (letters, numbers, spacing marks)."""
    drop: dict[int, None] = {}
    spacing: list[str] = []
    for code in range(0x110000):
        category = unicodedata.category(chr(code))
        if category in ("Mn", "Me"):
            drop[code] = None
        elif category == "Mc":
            spacing.append(re.escape(chr(code)))
    return drop, re.compile(r"(?:[^\W_]|[" + "".join(spacing) + r"])+")


_ASCII_TOKEN = re.compile(r"[a-z0-9]+")


def normalize(text: str) -> str:
    """`text` folded for matching: lower case, no accents, compatibility forms decomposed."""
    if text.isascii():
        return text.lower()
    drop, _ = _tables()
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold()).casefold()
    return folded.translate(drop)


def _split(normalized: str) -> list[str]:
    pattern = _ASCII_TOKEN if normalized.isascii() else _tables()[1]
    return [token[:MAX_TOKEN_CHARS] for token in pattern.findall(normalized)]


def tokens(text: str) -> list[str]:
    """The tokens of `text` in order, as the index keeps them (at most `MAX_TOKENS`)."""
    return _split(normalize(text[:MAX_TEXT_CHARS]))[:MAX_TOKENS]


def token_spans(text: str) -> list[tuple[int, int, str]]:
    """`tokens(text)`, each with where it came from in `text` (start, end): exactly for ASCII, else the
    piece between separators that holds it (normalizing may change the length of a piece)."""
    text = text[:MAX_TEXT_CHARS]
    found: list[tuple[int, int, str]] = []
    for piece in _SEGMENT.finditer(text):
        start, end = piece.span()
        segment = piece.group()
        if segment.isascii():
            lowered = segment.lower()
            found.extend(
                (start + m.start(), start + m.end(), m.group()[:MAX_TOKEN_CHARS])
                for m in _ASCII_TOKEN.finditer(lowered)
            )
        else:
            found.extend((start, end, token) for token in _split(normalize(segment)))
        if len(found) >= MAX_TOKENS:
            return found[:MAX_TOKENS]
    return found
