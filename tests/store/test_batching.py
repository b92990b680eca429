"""`TurnBatch`: the reads of one loop turn share one query, each caller gets its own key's answer, and a
failed query fails every caller of its turn and no later one."""

from __future__ import annotations

import asyncio

import pytest

from collab.store.batching import TurnBatch


class Source:
    def __init__(self, data: dict[str, int]) -> None:
        self.data = data
        self.queries: list[list[str]] = []
        self.fail: Exception | None = None

    async def fetch(self, keys: list[str]) -> dict[str, int]:
        self.queries.append(sorted(keys))
        await asyncio.sleep(0)
        if self.fail is not None:
            raise self.fail
        return {key: self.data[key] for key in keys if key in self.data}


async def test_one_query_answers_a_turn_and_each_caller_gets_its_key() -> None:
    source = Source({"a": 1, "b": 2})
    batch = TurnBatch(source.fetch)
    answers = await asyncio.gather(batch.get("a"), batch.get("b"), batch.get("a"), batch.get("missing"))
    assert answers == [1, 2, 1, None]
    assert source.queries == [["a", "b", "missing"]]
    # A later turn queries again, and sees what changed meanwhile.
    source.data["a"] = 10
    assert await batch.get("a") == 10
    assert source.queries[-1] == ["a"]


async def test_a_failed_query_fails_its_turn_only() -> None:
    source = Source({"a": 1})
    batch = TurnBatch(source.fetch)
    source.fail = RuntimeError("database away")
    results = await asyncio.gather(batch.get("a"), batch.get("b"), return_exceptions=True)
    assert all(isinstance(result, RuntimeError) for result in results)
    source.fail = None
    assert await batch.get("a") == 1


async def test_a_cancelled_caller_leaves_the_others_their_answer() -> None:
    source = Source({"a": 1})
    batch = TurnBatch(source.fetch)
    first = asyncio.ensure_future(batch.get("a"))
    second = asyncio.ensure_future(batch.get("a"))
    await asyncio.sleep(0)
    first.cancel()
    assert await second == 1
    with pytest.raises(asyncio.CancelledError):
        await first
