"""A search hit's snippet (collab/operators/snippets.py): the matched words marked, around the first."""

from __future__ import annotations

from collab.operators.snippets import WIDTH, snippet, snippet_text
from collab.store.search.query import parse_text_query


def marked(content: str, text: str | None) -> list[str]:
    return snippet("message", {"content": content}, parse_text_query(text) if text else None)


def test_words_phrases_and_prefixes_are_marked() -> None:
    assert marked("The late invoice, late again", "late") == ["The ", "late", " invoice, ", "late", " again"]
    assert marked("The late invoice, late again", '"late invoice"') == ["The ", "late invoice", ", late again"]
    assert marked("Invoicing the INVOICES", "invoic*") == ["", "Invoicing", " the ", "INVOICES", ""]
    assert marked("Un café crème", "creme cafe") == ["Un ", "café crème", ""]
    assert marked("nothing here", None) == ["nothing here"]
    assert marked("spaces\n\n and\ttabs", None) == ["spaces and tabs"]


def test_a_long_text_is_cut_around_the_first_match() -> None:
    words = [f"w{n}" for n in range(200)]
    parts = marked(" ".join(words), "w100")
    assert parts[0].startswith("…") and parts[1] == "w100" and parts[2].endswith("…")
    assert len("".join(parts)) <= WIDTH + 2
    assert parts[0].startswith("…w9")  # cut at a word's start
    start = marked(" ".join(words), "w1")
    assert start[0] == "w0 " and start[1] == "w1"  # near the start: from the start


def test_snippet_text_marks_matches_for_csv_and_the_terminal() -> None:
    assert snippet_text(["a ", "b", " c", "d", ""]) == "a «b» c«d»"
