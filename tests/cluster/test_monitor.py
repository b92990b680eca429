"""The monitor across nodes: every node's `metrics` frames reach a monitor page on any node."""

from __future__ import annotations

import pytest
from support.ws import connect

pytestmark = pytest.mark.postgres


async def test_a_page_on_one_node_gets_the_metrics_of_both(nodes, http) -> None:
    one, two = nodes(2)
    page = await connect(http(one), channel="monitor", nickname="ops")
    home = (await page.expect("metrics_history"))["node"]
    # The other node's id, as that node itself says it (its own history frame).
    other_page = await connect(http(two), channel="monitor", nickname="ops")
    other = (await other_page.expect("metrics_history"))["node"]
    await other_page.close()
    assert home != other

    def metrics_of(node: str):
        return lambda frame: frame.get("type") == "metrics" and frame.get("node") == node

    theirs = await page.expect(metrics_of(other), within=10.0)
    ours = await page.expect(metrics_of(home), within=10.0)
    # Each frame is about its own node: the page's socket is counted on the node it reached.
    assert ours["connections"] >= 1 and ours["process"] != theirs["process"]
    await page.close()
