"""The search index's words, what users typed, and the search box's language (collab/store/search/):
plain Python, the same for both databases."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collab.errors import ProtocolError
from collab.store.search.query import MAX_QUERY_CHARS, Term, fts5_match, parse_text_query, tsquery_text
from collab.store.search.rows import facets, index_terms, postgres_terms
from collab.store.search.terms import MAX_TOKEN_CHARS, MAX_TOKENS, normalize, token_spans, tokens
from collab.store.search.typed import typed_text, typed_texts

# -- words ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The Invoice, LATE!", ["the", "invoice", "late"]),
        ("Café CAFÉ cafe\u0301", ["cafe", "cafe", "cafe"]),  # composed, upper, decomposed
        ("ﬁne Straße ΐ", ["fine", "strasse", "\u03b9"]),  # compatibility forms, folding, folding's accents
        ("e-mail it's 1.5", ["e", "mail", "it", "s", "1", "5"]),
        ("literal_under 100%", ["literal", "under", "100"]),
        ("Ærøskøbing", ["ærøskøbing"]),  # letters of their own, not accented ones
        ("हिन्दी", ["हिनदी"]),  # the vowel signs (spacing marks) stay, the virama (an accent here) goes
        ("日本語のテキスト", ["日本語のテキスト"]),  # no spaces, one token
        ("x² ½ ℡", ["x2", "1", "2", "tel"]),
        ("\U0001d400\U0001d41b \uff21\uff22", ["ab", "ab"]),  # mathematical and full-width capitals
        ("", []),
        ("... --- !!!", []),
    ],
)
def test_tokens(text: str, expected: list[str]) -> None:
    assert tokens(text) == expected


def test_tokens_are_bounded() -> None:
    assert tokens("a" * 100) == ["a" * MAX_TOKEN_CHARS]
    assert len(tokens("w " * (MAX_TOKENS + 10))) == MAX_TOKENS


def test_spans_point_at_the_words_in_the_original_text() -> None:
    text = "Late: the INVOICE (café-crème) arrived"
    assert [(text[start:end], token) for start, end, token in token_spans(text)] == [
        ("Late", "late"),
        ("the", "the"),
        ("INVOICE", "invoice"),
        ("café", "cafe"),
        ("crème", "creme"),
        ("arrived", "arrived"),
    ]


@given(st.text(max_size=200))
def test_spans_give_the_same_tokens_as_the_index(text: str) -> None:
    assert [token for _, _, token in token_spans(text)] == tokens(text)


@given(st.text(max_size=60))
def test_normalizing_twice_changes_nothing(text: str) -> None:
    assert tokens(" ".join(tokens(text))) == tokens(text)
    assert normalize(normalize(text)) == normalize(text)


def test_every_character_normalizes_to_itself_once_normalized() -> None:
    # Both databases must see the same tokens: one that normalizing would change again (an ASCII capital
    # left over, which FTS5 folds and PostgreSQL keeps) would match differently on each.
    changed = [code for code in range(0x110000) if (n := normalize(chr(code))) and normalize(n) != n]
    assert changed == []


# -- what users typed --------------------------------------------------------------------------------------


def test_typed_text_reads_the_fields_users_type_into() -> None:
    assert typed_texts("message", {"content": "hello", "id": "op-1"}) == ["hello"]
    card = {"card": "k1", "title": "Fix", "description": "it", "labels": ["urgent", 3, "later"]}
    assert typed_texts("card_added", card) == ["Fix", "it", "urgent", "later"]
    media = {"media": {"id": "m1", "title": "Oslo", "description": "fjord", "tags": ["trip"], "mime": "image/png"}}
    assert typed_texts("new_media", media) == ["Oslo", "fjord", "trip"]
    assert typed_texts("message", None) == [] and typed_texts("message", ["x"]) == []
    assert typed_text("card_added", card) == "Fix\nit\nurgent\nlater"


def test_a_published_events_text_is_its_datas_strings_in_key_order() -> None:
    data = {"event": "invoice", "data": {"z": "last", "a": ["first", {"m": "middle"}], "n": 7}}
    assert typed_texts("event", data) == ["first", "middle", "last"]
    assert typed_texts("event", {"event": "note", "data": "plain text"}) == ["plain text"]
    assert typed_texts("other", data) == []  # `data` is only a published event's
    deep: object = "deep"
    for _ in range(40):
        deep = [deep]
    assert typed_texts("event", {"event": "x", "data": deep}) == []


# -- index rows ----------------------------------------------------------------------------------------------


def test_postgres_terms_keep_positions_and_facets() -> None:
    marks = facets("dm:ann:bob", "ann", "private")
    assert marks[-1] == "kdm" and len(marks) == 4
    assert postgres_terms(["a", "b", "a"], "'_cx'") == "'a':1 'b':2 'a':3 '_cx'"
    terms = index_terms(True, "general", "message", None, {"content": "Ça va, ÇA VA"})
    assert isinstance(terms, str) and terms.startswith("'ca':1 'va':2 'ca':3 'va':4 '_c")


# FTS5's ascii tokenizer, as the index's table has it, and what it made of one row's text: (token, position).
FTS5_VOCABULARY = """
    CREATE VIRTUAL TABLE t USING fts5(words, tokenize='ascii');
    CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance');
"""


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=300))
def test_fts5_splits_ascii_text_as_the_index_does(text: str) -> None:
    # ASCII text goes to SQLite's index as it is (collab.store.search.rows): FTS5 must find in it the
    # tokens `tokens()` gives, at the same positions.
    terms = index_terms(False, "general", "message", "ann", {"content": text})
    if terms is None:
        assert tokens(text) == []
        return
    conn = sqlite3.connect(":memory:")
    conn.executescript(FTS5_VOCABULARY)
    conn.execute("INSERT INTO t (words) VALUES (?)", (terms[0],))
    found = [term for term, _ in conn.execute("SELECT term, offset FROM v ORDER BY offset")]
    assert found == tokens(text)


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=300))
def test_postgres_terms_of_ascii_text_are_its_tokens(text: str) -> None:
    terms = index_terms(True, "general", "message", "ann", {"content": text})
    words = tokens(text)
    assert terms == (postgres_terms(words, terms.split(" ", len(words))[-1]) if words else None)


# -- the search box's language -------------------------------------------------------------------------------


def test_words_phrases_and_prefixes() -> None:
    query = parse_text_query('Late  "RED card" invo* e-mail "café au"')
    assert query.terms == (
        Term(("late",)),
        Term(("red", "card")),
        Term(("invo",), prefix=True),
        Term(("e", "mail")),
        Term(("cafe", "au"), prefix=False),
    )
    assert parse_text_query('"ends wit"*').terms == (Term(("ends", "wit"), prefix=True),)
    assert parse_text_query('"" word ...').terms == (Term(("word",)),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('"late invoice', "the quote at character 1 is not closed"),
        ('ok "late', "the quote at character 4 is not closed"),
        ("in*voice", "'*' marks a prefix and goes once at the end of a word (invo*), not 'in*voice'"),
        ("invo**", "'*' marks a prefix"),
        ("*", "a prefix needs at least 3 letters or digits before its '*'"),
        ("ab*", "a prefix needs at least 3 letters or digits before its '*', not 'ab'"),
        ("", "no word to search for"),
        ("... ---", "no word to search for"),
        ("x" * (MAX_QUERY_CHARS + 1), f"at most {MAX_QUERY_CHARS} characters"),
        (" ".join("abcdefghi"), "at most 8 words or phrases, not 9"),
        ('"a b c d e f g h i j" k l m n o p q', "at most 16 words in all"),
    ],
)
def test_what_the_language_refuses_is_said(text: str, message: str) -> None:
    with pytest.raises(ProtocolError) as refused:
        parse_text_query(text)
    assert str(refused.value).startswith(f"'text': {message}")


def test_a_query_compiles_to_quoted_tokens_only() -> None:
    query = parse_text_query('late "red card" invo*')
    groups = [["cA", "cB"], ["uC"]]
    assert fts5_match(query, groups, exclude_dms=True) == (
        '(words : "late" AND words : "red card" AND words : "invo" * AND (facets : "cA" OR facets : "cB")'
        ' AND facets : "uC") NOT facets : "kdm"'
    )
    assert tsquery_text(query, groups, exclude_dms=True) == (
        "'late' & ('red' <-> 'card') & 'invo':* & ('_cA' | '_cB') & '_uC' & !'_kdm'"
    )
    assert fts5_match(None, [], exclude_dms=True) == '(facets : "any") NOT facets : "kdm"'
    assert tsquery_text(None, [["uC"]], exclude_dms=False) == "'_uC'"
