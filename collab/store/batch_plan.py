"""What a batch writes, decided before it writes anything: each item's seqs (or why it gets none) and
the rows to insert. Pure code, given the channels' heads and the stored events of the op keys looked
up; both databases' writers run it between reading the heads (under their lock) and writing the rows
(collab.store.writer has the rules it follows)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from collab.errors import CollabError, StoreError
from collab.events import Appended, StoredEvent
from collab.store.base import StaleHead
from collab.store.rows import Pending, PendingGroup

# What the writer answers for one item of a batch: an event (`Pending`), a group (`PendingGroup`) or
# the error of either.
Result = Appended | list[Appended] | CollabError
Item = Pending | PendingGroup


@dataclass(slots=True)
class Plan:
    results: list[Result]  # one per item, in the batch's order
    rows: list[tuple[Any, ...]]  # the rows to insert: (channel, seq, *the pending row)
    sources: list[Pending]  # each row's pending event (its index terms)
    heads: dict[str, int]  # the channels' heads once the rows are in


class GroupLookup(Exception):
    """A stale group with op ids, in a batch planned without the op-key lookup: it may be a retry of
    a group whose first try moved the head, which only its keys' stored events can tell."""

    def __init__(self, group: PendingGroup) -> None:
        super().__init__(group.channel)
        self.group = group


def op_keys(items: Sequence[Item]) -> list[int]:
    """The op keys of `items` (a group's members' included), each once."""
    keys = list({item.op_key for item in items if item.op_key is not None})
    keys.extend(key for item in items if type(item) is PendingGroup for key in item.op_keys)
    return keys


def plan_batch(
    batch: Sequence[Item], heads: dict[str, int], found: dict[int, StoredEvent], looked_up: set[int] | None
) -> Plan:
    """Plan `batch` from its channels' `heads` and `found`, the stored events of the op keys looked up.
    `looked_up`: the ids of the groups whose keys are in `found` (None: every key of the batch is).
    Raises `GroupLookup` for a stale group not looked up (the caller looks it up and plans again)."""
    heads = dict(heads)
    known = dict(found)  # grows with the batch's own keyed events: a repeat within it is a retry
    results: list[Result] = []
    rows: list[tuple[Any, ...]] = []
    sources: list[Pending] = []
    for pending in batch:
        if type(pending) is PendingGroup:
            checked = looked_up is None or id(pending) in looked_up
            results.append(_plan_group(pending, heads, known, checked, rows, sources))
            continue
        key = pending.op_key
        if key is not None and key in known:
            results.append(_answer(known[key], pending))
            continue
        channel = pending.channel
        seq = heads[channel] = heads[channel] + 1
        stored = pending.stored(seq)
        if key is not None:
            known[key] = stored
        results.append(Appended(stored, True))
        rows.append((channel, seq, *pending.row))
        sources.append(pending)
    return Plan(results, rows, sources, heads)


def plan_with_lookups(
    batch: Sequence[Item],
    heads: dict[str, int],
    found: dict[int, StoredEvent],
    look_up: bool,
    stored_ops: Callable[[Sequence[Item]], dict[int, StoredEvent]],
) -> Plan:
    """`plan_batch`, looking up each stale group's keys with `stored_ops` as it asks (a sync lookup:
    SQLite's writer; PostgreSQL's runs the same loop with its own await)."""
    looked_up: set[int] | None = None if look_up else set()
    while True:
        try:
            return plan_batch(batch, heads, found, looked_up)
        except GroupLookup as need:
            found = {**found, **stored_ops(need.group.members)}
            assert looked_up is not None
            looked_up.add(id(need.group))


def _answer(previous: StoredEvent, pending: Pending) -> Result:
    """A keyed event whose key is stored: the stored event when it is the same operation (a retry)."""
    event = pending.event
    if (previous.channel, previous.user_id, previous.op_id) == (event.channel, event.user_id, event.op_id):
        return Appended(previous, False)
    return StoreError(f"op id {event.op_id!r} collides with another operation's")


def _plan_group(
    group: PendingGroup,
    heads: dict[str, int],
    known: dict[int, StoredEvent],
    checked: bool,
    rows: list[tuple[Any, ...]],
    sources: list[Pending],
) -> list[Appended] | CollabError:
    """Allocate a conditional group's seqs and add its rows, or say why not: a retry's stored events,
    `StaleHead`, or a `StoreError` for an op-id collision."""
    channel = group.channel
    head = heads[channel]
    if group.op_keys and not checked and head != group.expected_head:
        raise GroupLookup(group)
    repeated = [member for member in group.members if member.op_key in known]
    if repeated:
        answers = []
        for member in repeated:
            answer = _answer(known[member.op_key], member)  # type: ignore[index]
            if not isinstance(answer, Appended):
                return answer
            answers.append(answer)
        return answers
    if head != group.expected_head:
        return StaleHead(channel, group.expected_head, head)
    appended = []
    for member in group.members:
        head += 1
        stored = member.stored(head)
        if member.op_key is not None:
            known[member.op_key] = stored
        appended.append(Appended(stored, True))
        rows.append((channel, head, *member.row))
        sources.append(member)
    heads[channel] = head
    return appended
