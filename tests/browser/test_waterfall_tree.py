"""The session page of a nested session in a real browser: the link agentops 0.4 prints, the
session's name, metadata and logs, and the waterfall as a tree that loads children on expand,
collapses and expands, pages wide levels, and opens the inspector on click."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.browser.conftest import shot
from tests.browser.seed import Tree, describe_session, seed_tree
from tests.support.dashboard import FIRST_ADMIN_LOGIN, printed_admin_password
from tests.support.server import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FAN_OUT = 230  # children of the "batch" step: more than one page of 200
LOG = "\x1b[32mStarting\x1b[0m research agent\nstep 1 <b>done</b>\n"


@dataclass
class TreeSeeded:
    server: ServerProcess
    password: str
    tree: Tree


@pytest.fixture(scope="module")
def nested(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TreeSeeded]:
    server = ServerProcess(data_dir=tmp_path_factory.mktemp("tree") / "server").start()
    try:
        password = printed_admin_password(server)
        tree = seed_tree(server, fan_out=FAN_OUT)
        metadata = {"user": "ada", "attempt": 2}
        describe_session(server, tree.session_id, "research run", metadata, [LOG])
        yield TreeSeeded(server, password, tree)
    finally:
        server.stop()


def row(page: Any, tree: Tree, name: str) -> Any:
    return page.locator(f"#tree-body .node[data-event-id='{tree.ids[name]}']")


def box(locator: Any) -> dict[str, float]:
    found: dict[str, float] | None = locator.bounding_box()
    assert found is not None
    return found


def test_the_trace_link_opens_the_session_after_sign_in(
    nested: TreeSeeded, browser_page: Any
) -> None:
    page, tree = browser_page, nested.tree
    trace_id = tree.session_id.replace("-", "")
    page.goto(f"{nested.server.url}/sessions?trace_id={trace_id}")
    page.wait_for_url("**/login**")
    page.fill("input[name=email]", FIRST_ADMIN_LOGIN)
    page.fill("input[name=password]", nested.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"**/projects/*/sessions/{tree.session_id}")
    page.wait_for_selector("#waterfall[data-state=ready]")
    assert page.inner_text("#session-name") == "research run"
    metadata = page.locator("#session-metadata .meta").all_inner_texts()
    assert metadata == ["user ada", "attempt 2"]
    logs = page.locator("#session-logs pre")
    assert not logs.is_visible()  # collapsed until asked for
    page.click("#session-logs summary")
    # terminal colours are dropped, markup is text
    assert logs.inner_text() == "Starting research agent\nstep 1 <b>done</b>\n"


def test_a_nested_session_is_a_tree_that_loads_children_on_expand(
    nested: TreeSeeded, browser_page: Any
) -> None:
    page, tree = browser_page, nested.tree
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/tree?" in r.url else None)
    page.goto(f"{nested.server.url}/sessions/{tree.session_id}")
    page.wait_for_url("**/login**")
    page.fill("input[name=email]", FIRST_ADMIN_LOGIN)
    page.fill("input[name=password]", nested.password)
    page.click("button[type=submit]")
    page.wait_for_selector("#waterfall[data-state=ready]")

    # the top level: what has no parent, and the span whose parent never arrived
    top = page.locator("#tree-body > .node")
    top_ids = [top.nth(i).get_attribute("data-event-id") for i in range(top.count())]
    names = ["plan", "research-agent", "batch", "late-span", "answer"]
    assert top_ids == [tree.ids[n] for n in names]
    assert "parent missing" in row(page, tree, "late-span").inner_text()
    agent = row(page, tree, "research-agent")
    assert agent.get_attribute("aria-expanded") == "false"
    assert row(page, tree, "plan").locator("button.toggle").count() == 0  # a leaf
    # nothing below the top level is loaded before it is asked for
    assert row(page, tree, "web-search").count() == 0 and asked == []

    agent.locator("button.toggle").click()
    search = row(page, tree, "web-search")
    search.wait_for()
    assert len(asked) == 1 and f"parent_id={tree.ids['research-agent']}" in asked[0]
    assert agent.get_attribute("aria-expanded") == "true"
    children = page.locator("#tree-body .node[aria-level='2']")
    assert children.count() == 3  # web-search, the draft call, summarize
    summarize = row(page, tree, "summarize")
    summarize.locator("button.toggle").click()
    row(page, tree, "summary-2").wait_for()
    assert row(page, tree, "summary-0").get_attribute("aria-level") == "3"

    # indented under its parent, its bar inside the parent's on the shared time axis
    label = ".name .label"
    assert box(search.locator(label))["x"] > box(agent.locator(label))["x"] + 8
    assert (
        box(row(page, tree, "summary-0").locator(label))["x"]
        > box(summarize.locator(label))["x"] + 8
    )
    parent_bar, child_bar = (
        box(summarize.locator(".bar")),
        box(row(page, tree, "summary-1").locator(".bar")),
    )
    assert parent_bar["x"] - 1 <= child_bar["x"]
    assert child_bar["x"] + child_bar["width"] <= parent_bar["x"] + parent_bar["width"] + 1
    axis = box(page.locator("#tree-axis"))
    assert abs(box(row(page, tree, "plan").locator(".bar"))["x"] - axis["x"]) < 3  # starts at 0

    row(page, tree, "summary-1").click()
    page.wait_for_selector("#inspector .msg.user")
    assert "summary-1: what next?" in page.inner_text("#inspector")
    assert tree.ids["summarize"] in page.inner_text("#inspector-facts")  # its parent
    assert "selected" in (row(page, tree, "summary-1").get_attribute("class") or "")

    # collapse hides the whole subtree; expanding again shows it without asking the server
    before = len(asked)
    agent.locator("button.toggle").click()
    assert agent.get_attribute("aria-expanded") == "false"
    assert not search.is_visible() and not row(page, tree, "summary-1").is_visible()
    assert row(page, tree, "batch").is_visible()
    agent.locator("button.toggle").click()
    assert search.is_visible() and row(page, tree, "summary-1").is_visible()
    assert len(asked) == before

    # a wide level comes a page at a time
    batch = row(page, tree, "batch")
    batch.locator("button.toggle").click()
    fetched = page.locator("#tree-body .node[aria-level='2']", has_text="fetch-")
    page.wait_for_function(
        "() => document.querySelectorAll('#tree-body .tree-row.more').length === 1"
    )
    assert fetched.count() == 200
    more = page.locator("#tree-body .tree-row.more")
    assert f"200 of {FAN_OUT} shown" in more.inner_text()
    shot(page, "09-session-tree")
    more.locator("button").click()
    page.wait_for_function(
        "() => document.querySelectorAll('#tree-body .tree-row.more').length === 0"
    )
    assert fetched.count() == FAN_OUT
    assert fetched.last.inner_text().startswith(f"fetch-{FAN_OUT - 1:03}")
