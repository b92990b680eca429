"""Presence across nodes: who is in a channel is the same on every node; a user with tabs on two nodes is
one person; a node that dies takes its users out of everyone's presence within the stated bound."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from support.auth import token
from support.cluster import Reader
from support.waiting import wait_for
from support.ws import connect

from collab.realtime.cluster_presence import EXPIRE_SECONDS, SWEEP_SECONDS

pytestmark = pytest.mark.postgres


def ids(users: list[dict[str, Any]]) -> set[str]:
    return {user["id"] for user in users}


def present(frames: list[dict[str, Any]], channel: str) -> set[str]:
    """Who a client believes is present: its last `presence` list with every `presence_diff` after it."""
    who: set[str] = set()
    for frame in frames:
        if frame.get("channel") != channel:
            continue
        if frame["type"] == "presence":
            who = ids(frame["users"])
        elif frame["type"] == "presence_diff":
            who = (who | ids(frame["joins"])) - set(frame["leaves"])
    return who


async def test_presence_is_one_list_across_nodes(nodes, http) -> None:
    one, two = nodes(2)
    channel = f"room-{uuid.uuid4().hex[:6]}"
    ann = Reader(await connect(http(one), channel=channel, token=token("ann")))
    bob = Reader(await connect(http(two), channel=channel, token=token("bob")))
    await wait_for(lambda: present(bob.frames, channel) == {"ann", "bob"}, what="bob to see ann and himself")
    await wait_for(lambda: present(ann.frames, channel) == {"ann", "bob"}, what="ann to see bob arrive")
    # Carol has a tab on each node: one person, who leaves only when her last tab closes.
    carol_one = await connect(http(one), channel=channel, token=token("carol"))
    carol_two = await connect(http(two), channel=channel, token=token("carol"))
    await wait_for(lambda: present(ann.frames, channel) == {"ann", "bob", "carol"}, what="carol at ann")
    await wait_for(lambda: present(bob.frames, channel) == {"ann", "bob", "carol"}, what="carol at bob")
    await carol_one.close()
    await carol_two.send(type="ping")
    await carol_two.expect("pong")
    assert "carol" in present(ann.frames, channel) and "carol" in present(bob.frames, channel)
    await carol_two.close()
    await wait_for(lambda: present(ann.frames, channel) == {"ann", "bob"}, what="carol gone at ann")
    await wait_for(lambda: present(bob.frames, channel) == {"ann", "bob"}, what="carol gone at bob")
    joins = [f for f in ann.frames if f["type"] == "presence_diff" and "carol" in ids(f["joins"])]
    assert len(joins) == 1, "carol's second tab announced her again"
    await ann.stop()
    await bob.stop()


async def test_a_dead_nodes_users_leave_within_the_bound(nodes, http) -> None:
    one, two = nodes(2)
    channel = f"room-{uuid.uuid4().hex[:6]}"
    bob = Reader(await connect(http(two), channel=channel, token=token("bob")))
    dave = await connect(http(one), channel=channel, token=token("dave"))
    await wait_for(lambda: present(bob.frames, channel) == {"bob", "dave"}, what="bob to see dave")
    assert dave.client_id  # dave's socket stays open until its node dies
    one.kill()
    killed = time.monotonic()
    bound = EXPIRE_SECONDS + SWEEP_SECONDS + 1
    await wait_for(lambda: present(bob.frames, channel) == {"bob"}, within=bound + 5, what="dave to leave")
    assert time.monotonic() - killed <= bound
    await bob.stop()


async def test_a_node_that_starts_learns_who_is_there(nodes, http) -> None:
    [one] = nodes(1)
    channel = f"room-{uuid.uuid4().hex[:6]}"
    ann = Reader(await connect(http(one), channel=channel, token=token("ann")))
    [two] = nodes(1)  # started after ann arrived
    bob = Reader(await connect(http(two), channel=channel, token=token("bob")))
    await wait_for(lambda: present(bob.frames, channel) == {"ann", "bob"}, within=3, what="bob to see ann")
    await ann.stop()
    await bob.stop()
