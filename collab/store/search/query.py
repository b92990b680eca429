"""The search box's language, parsed here and compiled to each database's own (never passed through).

    invoice                 a word
    "late invoice"          a phrase: these words next to each other, in this order
    invo*                   a prefix: any word that starts so (at least `MIN_PREFIX` letters)
    late "red card" inv*    all of them (AND), anywhere in the event's text

Words are matched as the index keeps them (collab.store.search.terms): case and accents do not matter,
and a word the tokenizer splits (`e-mail`, `it's`) is read as a phrase of its pieces. Anything else — an
unclosed quote, a `*` inside a word, a prefix too short, too long a query — is a `ProtocolError` that
says what is wrong (a 400), before any database sees the query. A compiled query holds only tokens
(letters, digits, spacing marks) in quotes, so no user input reaches FTS5's or tsquery's syntax.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from collab.errors import ProtocolError
from collab.store.search.rows import DM_FACET, EVERY_FACET
from collab.store.search.terms import tokens

MAX_QUERY_CHARS = 256
MAX_TERMS = 8
MAX_TOKENS = 16
MIN_PREFIX = 3


@dataclass(frozen=True, slots=True)
class Term:
    """A word, or a phrase of several; with `prefix`, its last token is a prefix."""

    tokens: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class TextQuery:
    terms: tuple[Term, ...]

    @property
    def words(self) -> frozenset[str]:
        """The whole tokens of every term (prefixes are `prefixes`)."""
        return frozenset(t for term in self.terms for t in (term.tokens[:-1] if term.prefix else term.tokens))

    @property
    def prefixes(self) -> frozenset[str]:
        return frozenset(term.tokens[-1] for term in self.terms if term.prefix)


def _fail(message: str) -> ProtocolError:
    return ProtocolError(f"'text': {message}")


def _term(text: str, prefix: bool) -> Term | None:
    found = tokens(text)
    if not found:
        if prefix:
            raise _fail(f"a prefix needs at least {MIN_PREFIX} letters or digits before its '*'")
        return None
    if prefix and len(found[-1]) < MIN_PREFIX:
        raise _fail(f"a prefix needs at least {MIN_PREFIX} letters or digits before its '*', not {found[-1]!r}")
    return Term(tuple(found), prefix)


def parse_text_query(text: str) -> TextQuery:
    """Parse the search box's text (see the module docstring); `ProtocolError` says what is wrong."""
    if len(text) > MAX_QUERY_CHARS:
        raise _fail(f"at most {MAX_QUERY_CHARS} characters, not {len(text)}")
    terms: list[Term] = []
    at, end = 0, len(text)
    while at < end:
        char = text[at]
        if char.isspace():
            at += 1
            continue
        if char == '"':
            close = text.find('"', at + 1)
            if close < 0:
                raise _fail(f"the quote at character {at + 1} is not closed")
            prefix = text.startswith("*", close + 1)
            term = _term(text[at + 1 : close], prefix)
            at = close + (2 if prefix else 1)
        else:
            stop = at
            while stop < end and not text[stop].isspace() and text[stop] != '"':
                stop += 1
            word = text[at:stop]
            prefix = word.endswith("*")
            if "*" in word.rstrip("*") or word.endswith("**"):
                raise _fail(f"'*' marks a prefix and goes once at the end of a word (invo*), not {word!r}")
            term = _term(word[:-1] if prefix else word, prefix)
            at = stop
        if term is not None:
            terms.append(term)
    if not terms:
        raise _fail("no word to search for (letters or digits)")
    if len(terms) > MAX_TERMS:
        raise _fail(f"at most {MAX_TERMS} words or phrases, not {len(terms)}")
    count = sum(len(term.tokens) for term in terms)
    if count > MAX_TOKENS:
        raise _fail(f"at most {MAX_TOKENS} words in all (a phrase counts each of its words), not {count}")
    return TextQuery(tuple(terms))


# -- compiling -------------------------------------------------------------------------------------------

# What else a search asks the index for: groups of facet tokens (collab.store.search.rows), one of each
# group (OR) and every group (AND); and whether direct messages are left out.
Facets = Sequence[Sequence[str]]


def fts5_match(query: TextQuery | None, groups: Facets, *, exclude_dms: bool) -> str:
    """An FTS5 MATCH expression over columns `words` and `facets` (with no term of its own, the one every
    row has: FTS5 needs one)."""
    parts = []
    for term in query.terms if query else ():
        phrase = f'words : "{" ".join(term.tokens)}"'
        parts.append(phrase + " *" if term.prefix else phrase)
    for group in groups:
        options = [f'facets : "{token}"' for token in group]
        parts.append(options[0] if len(options) == 1 else "(" + " OR ".join(options) + ")")
    expression = " AND ".join(parts) if parts else f'facets : "{EVERY_FACET}"'
    return f'({expression}) NOT facets : "{DM_FACET}"' if exclude_dms else expression


def tsquery_text(query: TextQuery | None, groups: Facets, *, exclude_dms: bool) -> str | None:
    """The same as a tsquery's text (facets spelled `_…`, as `postgres_terms` writes them); None when it
    has no term (the caller then reads the table in order)."""
    parts = []
    for term in query.terms if query else ():
        lexemes = [f"'{token}'" for token in term.tokens]
        if term.prefix:
            lexemes[-1] += ":*"
        parts.append(lexemes[0] if len(lexemes) == 1 else "(" + " <-> ".join(lexemes) + ")")
    for group in groups:
        options = [f"'_{token}'" for token in group]
        parts.append(options[0] if len(options) == 1 else "(" + " | ".join(options) + ")")
    if not parts:
        return None
    expression = " & ".join(parts)
    return f"{expression} & !'_{DM_FACET}'" if exclude_dms else expression
