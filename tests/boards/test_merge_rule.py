"""The merge rule of card edits (docs/boards.md#edits-merge-field-by-field), as a property: clients open
one card, change random fields and save, in any interleaving, through the server's own `decide` and
reducers. The clients behave as the kanban page does: an edit carries only the fields its user changed,
based on the version the user opened; on a conflict the user keeps theirs or takes the other's, field by
field, and saves again. Some clients are old ones that send every field with their version.

Checked against an oracle that knows every accepted edit (not the projection's own `changed`):
- no field edit is lost: each field holds the value of the last accepted edit that set it;
- an accepted edit never overwrites a value its author had not seen (a change made after the version it
  was based on) with another value: that is a conflict, named field by field;
- an edit whose fields nobody else changed since its version is accepted: edits of different fields merge.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collab.boards.kanban import CARD_FIELDS, KANBAN
from collab.boards.kanban_commands import VersionConflict, decide
from collab.events import StoredEvent

CLIENTS = 3
VALUES: dict[str, list[Any]] = {
    "title": ["One", "Two", "Three"],
    "description": ["", "some", "more"],
    "assignee": [None, "ann", "bob"],
    "labels": [[], ["bug"], ["bug", "ux"]],
}

step = st.one_of(
    st.tuples(st.just("open"), st.integers(0, CLIENTS - 1)),
    st.tuples(
        st.just("type"),
        st.integers(0, CLIENTS - 1),
        st.sampled_from(CARD_FIELDS),
        st.integers(0, 2),
    ),
    st.tuples(st.just("save"), st.integers(0, CLIENTS - 1), st.sampled_from(["mine", "theirs"])),
)


class Board:
    """The server: one card, commands decided and stored one at a time (as at the head of the log)."""

    def __init__(self) -> None:
        self.state = KANBAN.initial()
        self.seq = 0
        self.store({"type": "column_add", "column": "todo", "title": "To do"})
        self.store({"type": "card_add", "card": "c", "column": "todo", "title": "One"})

    @property
    def card(self) -> dict[str, Any]:
        return self.state["cards"]["c"]

    def store(self, frame: dict[str, Any]) -> None:
        for kind, data in decide(self.state, frame, lambda: "new"):
            self.seq += 1
            event = StoredEvent("kanban:p", self.seq, kind, data, None, "u", "n", None, datetime.now(UTC))
            self.state = KANBAN.apply(self.state, event)


class Oracle:
    """Every accepted edit, in order: which version it made and the values it set."""

    def __init__(self, card: dict[str, Any]) -> None:
        self.value = {field: card[field] for field in CARD_FIELDS}
        self.last_change = dict.fromkeys(CARD_FIELDS, 1)  # the version whose edit gave the value it has

    def expected_conflicts(self, based_on: int, edit: dict[str, Any]) -> list[str]:
        return [f for f in CARD_FIELDS if f in edit and self.last_change[f] > based_on and edit[f] != self.value[f]]

    def accepted(self, version: int, edit: dict[str, Any]) -> None:
        for field, value in edit.items():
            if value != self.value[field]:
                self.value[field], self.last_change[field] = value, version


class Page:
    """A client with the card dialog: the card as opened (`base`) and the form as typed."""

    def __init__(self, sends_every_field: bool) -> None:
        self.sends_every_field = sends_every_field
        self.base: dict[str, Any] | None = None
        self.form: dict[str, Any] = {}

    def open(self, card: dict[str, Any]) -> None:
        self.base = {**card}
        self.form = {field: card[field] for field in CARD_FIELDS}

    def edit(self) -> dict[str, Any]:
        assert self.base is not None
        if self.sends_every_field:
            return dict(self.form)
        return {field: value for field, value in self.form.items() if value != self.base[field]}

    def rebase(self, card: dict[str, Any], conflicts: list[str], choice: str) -> None:
        """After a conflict: fields the user changed stay theirs (a conflicting one only on "mine"),
        every other field shows the card as it is now, and the next save is based on its version."""
        assert self.base is not None
        mine = {field for field in CARD_FIELDS if self.form[field] != self.base[field]}
        if choice == "theirs":
            mine -= set(conflicts)
        self.base = {**card}
        self.form = {field: self.form[field] if field in mine else card[field] for field in CARD_FIELDS}


@settings(max_examples=300, deadline=None)
@given(old_clients=st.lists(st.booleans(), min_size=CLIENTS, max_size=CLIENTS), steps=st.lists(step, max_size=40))
def test_concurrent_field_edits_never_lose_an_edit(old_clients: list[bool], steps: list[tuple[Any, ...]]) -> None:
    board = Board()
    oracle = Oracle(board.card)
    pages = [Page(old) for old in old_clients]
    for action, index, *rest in steps:
        page = pages[index]
        if action == "open":
            page.open(board.card)
        elif action == "type" and page.base is not None:
            field, pick = rest
            page.form[field] = VALUES[field][pick]
        elif action == "save" and page.base is not None:
            edit = page.edit()
            if not edit:
                page.base = None
                continue
            based_on = page.base["version"]
            expected = oracle.expected_conflicts(based_on, edit)
            try:
                board.store({"type": "card_edit", "card": "c", "version": based_on, **edit})
            except VersionConflict as conflict:
                assert conflict.fields == expected, "a conflict on a field nobody else changed, or a field missed"
                assert conflict.card == board.card
                page.rebase(conflict.card, conflict.fields, rest[0])
            else:
                assert expected == [], f"{edit} based on {based_on} overwrote {expected}, changed since"
                oracle.accepted(board.card["version"], edit)
                page.base = None
        # No edit lost: every field has the value of the last accepted edit that set it.
        assert {field: board.card[field] for field in CARD_FIELDS} == oracle.value


def test_the_old_rule_would_refuse_what_now_merges() -> None:
    """A fixed case of the property, readable: title/labels/assignee by ann, description by bob."""
    board = Board()
    board.store({"type": "card_edit", "card": "c", "version": 1, "title": "A", "labels": ["x"], "assignee": "ann"})
    board.store({"type": "card_edit", "card": "c", "version": 1, "description": "B"})
    assert {f: board.card[f] for f in CARD_FIELDS} == {
        "title": "A",
        "description": "B",
        "assignee": "ann",
        "labels": ["x"],
    }


def test_a_card_from_an_old_snapshot_keeps_the_old_rule_until_edited() -> None:
    """Snapshots taken before cards had `changed`: every field counts as changed at the card's version."""
    board = Board()
    board.store({"type": "card_edit", "card": "c", "version": 1, "description": "d"})
    old = {key: value for key, value in board.card.items() if key != "changed"}
    board.state = {**board.state, "cards": {"c": old}}
    with pytest.raises(VersionConflict) as refused:
        board.store({"type": "card_edit", "card": "c", "version": 1, "title": "stale"})
    assert refused.value.fields == ["title"]
    board.store({"type": "card_edit", "card": "c", "version": 2, "title": "fresh"})
    assert board.card["changed"] == {"title": 3, "description": 2, "assignee": 2, "labels": 2}
