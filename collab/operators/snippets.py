"""A search hit's snippet: a short piece of what the user typed, around the first match, with every
matched word marked. Built here in Python from the event's own payload, with the tokenizer the index uses
(collab.store.search.terms), so it is the same on both databases and marks what the index matched.

A snippet is a list of strings, plain and matched in turn: `["…the ", "invoice", " is late"]` (even
indexes plain, odd ones matched; it starts with a plain one, maybe empty). A page builds it element by
element (never as HTML); `snippet_text` writes it for CSV and the terminal, matches in «guillemets».
"""

from __future__ import annotations

import re
from typing import Any

from collab.store.search.query import TextQuery
from collab.store.search.terms import token_spans
from collab.store.search.typed import typed_text

WIDTH = 160  # characters of text shown, about
BEFORE = 40  # of them before the first match
_SPACES = re.compile(r"\s+")


def _marked(spans: list[tuple[int, int, str]], query: TextQuery | None) -> list[tuple[int, int]]:
    """The spans of every token in a match of one of the query's terms."""
    if query is None:
        return []
    words = [token for _, _, token in spans]
    marked: set[int] = set()
    for term in query.terms:
        size = len(term.tokens)
        for start in range(len(words) - size + 1):
            if all(words[start + i] == term.tokens[i] for i in range(size - 1)) and (
                words[start + size - 1].startswith(term.tokens[-1])
                if term.prefix
                else words[start + size - 1] == term.tokens[-1]
            ):
                marked.update(range(start, start + size))
    return [(spans[i][0], spans[i][1]) for i in sorted(marked)]


def _merged(text: str, marks: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Marks that overlap or are only white space apart (a phrase's words) as one."""
    merged: list[tuple[int, int]] = []
    for start, end in marks:
        if merged and (start <= merged[-1][1] or text[merged[-1][1] : start].isspace()):
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _window(text: str, first: int) -> tuple[int, int]:
    """Where the snippet starts and ends: `BEFORE` characters before `first`, at a word's start."""
    start = max(0, first - BEFORE)
    if start > 0:
        space = text.find(" ", start, first)
        start = space + 1 if space >= 0 else start
    end = min(len(text), start + WIDTH)
    if end < len(text):
        space = text.rfind(" ", max(first, start + WIDTH // 2), end)
        end = space if space > 0 else end
    return start, end


def snippet(event_type: str, data: Any, query: TextQuery | None) -> list[str]:
    """The event's snippet for `query` (None: its text's start, nothing marked)."""
    text = _SPACES.sub(" ", typed_text(event_type, data))  # one space for each run: same length or shorter
    marks = _merged(text, _marked(token_spans(text), query))
    start, end = _window(text, marks[0][0] if marks else 0)
    parts = ["…" if start > 0 else ""]
    at = start
    for mark_start, mark_end in marks:
        if mark_end <= start or mark_start >= end:
            continue
        mark_start, mark_end = max(mark_start, start), min(mark_end, end)
        parts[-1] += text[at:mark_start]
        parts.extend((text[mark_start:mark_end], ""))
        at = mark_end
    parts[-1] += text[at:end] + ("…" if end < len(text) else "")
    return parts


def snippet_text(parts: list[str]) -> str:
    """A snippet as one line of text, its matches in «guillemets»."""
    return "".join(f"«{part}»" if index % 2 else part for index, part in enumerate(parts))
