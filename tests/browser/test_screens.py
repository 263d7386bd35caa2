"""Every page at phone (390x844) and desktop (1440x900) size in Chromium: nothing wider than
the screen, every control reachable with Tab, long tags cut; the session page's navigation
(deep links, keys, filters, next error, group by agent) and live updates while an agent records.
Screenshots of every page at both sizes go to test-artifacts/screenshots/."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.browser.agent import TestAgent
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, chromium_available
from tests.browser.seed import Tree, seed_tree
from tests.conftest import require
from tests.support.dashboard import FIRST_ADMIN_LOGIN, printed_admin_password
from tests.support.server import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIZES = {"phone": (390, 844), "desktop": (1440, 900)}
LONG_TAG = "research-" + "x" * 291  # 300 characters
LONG_TOOL = "search_the_internal_knowledge_base_" * 5
REASON = "Traceback (most recent call last):\n  File \"agent.py\", line 3\nKeyError: 'plan'"
CONTROLS = (
    "a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select, "
    "summary, [tabindex]:not([tabindex='-1'])"
)


@dataclass
class World:
    server: ServerProcess
    password: str
    tree: Tree
    busy: str  # a session with agents, overlapping calls, an error and a long tag
    ids: dict[str, str]
    empty_project: str
    empty_key: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    server = ServerProcess(data_dir=tmp_path_factory.mktemp("screens") / "server").start()
    try:
        password = printed_admin_password(server)
        tree = seed_tree(server, fan_out=12)
        agent = TestAgent(server.url, server.api_key, tags=["prod", LONG_TAG])
        planner, worker = str(uuid.uuid4()), str(uuid.uuid4())
        agent.agent(planner, "planner")
        agent.agent(worker, "worker")
        ids = {"plan": agent.event("llms", "gpt-4o-mini", 0, 1.0, agent_id=planner)}
        for i in range(5):  # five overlapping calls inside 0.6 s
            ids[f"fetch-{i}"] = agent.event(
                "tools", f"fetch-{i}", 1.0 + i * 0.1, 0.5, agent_id=worker
            )
        ids["long"] = agent.event("tools", LONG_TOOL, 1.7, 0.4, agent_id=worker)
        ids["error"] = agent.event(
            "errors",
            "KeyError",
            2.2,
            0.0,
            agent_id=worker,
            trigger_event_id=ids["fetch-2"],
            trigger_event_type="tools",
        )
        ids["answer"] = agent.event("llms", "claude-3-5-sonnet", 2.5, 1.0, agent_id=planner)
        agent.end("Fail", REASON, at=4.0)
        agent.close()
        empty_project, empty_key = server.create_project("Empty")
        yield World(server, password, tree, agent.session_id, ids, empty_project, empty_key)
    finally:
        server.stop()


@pytest.fixture(params=list(SIZES))
def size(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def page_at(size: str) -> Iterator[Any]:
    require(chromium_available(), f"Chromium at {CHROMIUM} with the playwright package")
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    width, height = SIZES[size]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            yield page
            assert errors == []  # no JavaScript error on any page
            context.close()
        finally:
            browser.close()


def sign_in(page: Any, world: World) -> None:
    page.goto(world.server.url + "/login")
    page.fill("input[name=email]", FIRST_ADMIN_LOGIN)
    page.fill("input[name=password]", world.password)
    page.click("button[type=submit]")
    page.wait_for_url("**/projects/**")


def fits(page: Any) -> None:
    """Nothing is wider than the viewport: the page never scrolls sideways."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} is {width} px wide"


def tab_reaches_every_control(page: Any) -> None:
    """Pressing Tab visits every visible control of the page."""
    count = page.evaluate(
        """sel => {
          const shown = (e) => e.getClientRects().length > 0 && !e.closest('[hidden]')
            && getComputedStyle(e).visibility !== 'hidden';
          const all = [...document.querySelectorAll(sel)].filter(shown);
          all.forEach((e, i) => { e.dataset.kb = String(i); });
          document.activeElement && document.activeElement.blur();
          return all.length;
        }""",
        CONTROLS,
    )
    reached: set[str] = set()
    for _ in range(count + 10):
        page.keyboard.press("Tab")
        found = page.evaluate("document.activeElement && document.activeElement.dataset.kb")
        if found is not None:
            reached.add(found)
    missing = page.evaluate(
        """(seen) => [...document.querySelectorAll('[data-kb]')]
            .filter((e) => !seen.includes(e.dataset.kb))
            .map((e) => e.outerHTML.slice(0, 120))""",
        sorted(reached),
    )
    assert missing == [], f"not reachable by Tab on {page.url}"


def intersect(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def screen(page: Any, size: str, name: str) -> None:
    fits(page)
    page.screenshot(path=str(SCREENSHOTS / f"{size}-{name}.png"), full_page=True)


def test_every_page_fits_the_screen_and_every_control_takes_the_keyboard(
    world: World, page_at: Any, size: str
) -> None:
    page, url = page_at, world.server.url
    page.goto(url + "/login")
    screen(page, size, "login")
    tab_reaches_every_control(page)
    sign_in(page, world)
    project = f"{url}/projects/{world.server.project_id}"
    pages = {
        "overview": project,
        "sessions": f"{project}/sessions",
        "session": f"{project}/sessions/{world.busy}",
        "session-tree": f"{project}/sessions/{world.tree.session_id}",
        "keys": f"{project}/keys",
        "projects": f"{url}/projects",
        "first-run": f"{url}/projects/{world.empty_project}/sessions",
        "not-found": f"{project}/sessions/{uuid.uuid4()}",
    }
    for name, target in pages.items():
        page.goto(target)
        if name in ("session", "session-tree"):
            page.wait_for_selector("#waterfall[data-state=ready]")
        screen(page, size, name)
        tab_reaches_every_control(page)

    # the 300-character tag is cut: Tokens and Cost stay on screen
    page.goto(f"{project}/sessions")
    row = page.locator(f"#sessions tr[data-session-id='{world.busy}']")
    tag = row.locator(".tag", has_text="research-")
    assert tag.get_attribute("title") == LONG_TAG  # the whole tag on hover
    assert tag.bounding_box()["width"] < 300
    if size == "desktop":
        cost = row.locator("td").last
        assert cost.bounding_box()["x"] + cost.bounding_box()["width"] <= 1440
    # the session page: the waterfall keeps its width, the inspector does not cover the rows
    page.goto(f"{project}/sessions/{world.busy}")
    page.wait_for_selector("#waterfall[data-state=ready]")
    assert page.locator("#tree-axis").bounding_box()["width"] >= 100
    page.locator(f"#tree-body .node[data-event-id='{world.ids['long']}']").click()
    page.wait_for_selector("#inspector h3")
    assert LONG_TOOL in page.inner_text("#inspector")  # the full name in the inspector
    fits(page)
    inspector = page.locator("#inspector").bounding_box()
    rows = page.locator("#tree").bounding_box()
    assert not intersect(inspector, rows)  # beside the rows (desktop) or below them (phone)
    # the end reason keeps its line breaks
    assert page.inner_text("#end-reason") == REASON


def test_a_link_opens_its_event_and_zoom(world: World, page_at: Any) -> None:
    page, tree = page_at, world.tree
    sign_in(page, world)
    base = f"{world.server.url}/projects/{world.server.project_id}/sessions/{tree.session_id}"
    page.goto(base)
    page.wait_for_selector("#waterfall[data-state=ready]")
    # a nested event, three levels down: its ancestors open, it is selected and inspected
    page.goto(f"{base}?event={tree.ids['rank-results']}&from=1000&to=6000")
    page.wait_for_selector(f"#inspector-facts >> text={tree.ids['rank-results']}")
    row = page.locator(f"#tree-body .node.selected[data-event-id='{tree.ids['rank-results']}']")
    assert row.is_visible()
    assert row.get_attribute("aria-level") == "3"
    assert page.inner_text("#waterfall-range").startswith("+1.00 s")
    # selecting another event puts it in the address; that address opens it again
    page.locator(f"#tree-body .node[data-event-id='{tree.ids['draft']}']").click()
    page.wait_for_selector(f"#inspector-facts >> text={tree.ids['draft']}")
    assert f"event={tree.ids['draft']}" in page.url
    link = page.url
    page.goto(world.server.url + "/projects")
    page.goto(link)
    page.wait_for_selector(f"#inspector-facts >> text={tree.ids['draft']}")
    assert (
        page.locator("#tree-body .node.selected").get_attribute("data-event-id")
        == tree.ids["draft"]
    )


def test_keyboard_filters_next_error_and_agents(world: World, page_at: Any, size: str) -> None:
    page, ids = page_at, world.ids
    sign_in(page, world)
    base = f"{world.server.url}/projects/{world.server.project_id}/sessions/{world.busy}"
    page.goto(base)
    page.wait_for_selector("#waterfall[data-state=ready]")
    first = page.locator("#tree-body .node").first
    first.focus()
    page.keyboard.press("j")
    focused = page.evaluate("document.activeElement.dataset.eventId")
    assert focused == ids["fetch-0"]
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("k")
    assert page.evaluate("document.activeElement.dataset.eventId") == ids["plan"]
    page.keyboard.press("Enter")
    page.wait_for_selector("#inspector h3 >> text=gpt-4o-mini")
    assert "planner" in page.inner_text("#inspector-facts")  # the agent's name, not only its id
    page.keyboard.press("Escape")
    page.wait_for_selector("#inspector >> text=Select an event")
    assert "event=" not in page.url
    # e: the next error, with its trigger as a link to the call that raised it
    page.keyboard.press("e")
    page.wait_for_selector("#inspector h3 >> text=errors")
    assert page.locator("#tree-body .node.selected").get_attribute("data-event-id") == ids["error"]
    page.click("#inspector-error a.event-link")
    page.wait_for_selector("#inspector h3 >> text=fetch-2")
    # filters: tools whose name holds "fetch"
    page.select_option("#event-filters select[name=type]", "tools")
    page.fill("#event-filters input[name=name]", "FETCH")
    page.click("#event-filters button[type=submit]")
    page.wait_for_function("() => document.querySelectorAll('#alt-body .node').length === 5")
    names = page.locator("#alt-body .node .label").all_inner_texts()
    assert names == [f"fetch-{i}" for i in range(5)]
    assert "type=tools" in page.url and "name=FETCH" in page.url
    page.select_option("#event-filters select[name=agent]", label="planner")
    page.click("#event-filters button[type=submit]")
    page.wait_for_selector("#alt-body >> text=No event matches these filters.")
    page.click("#filters-clear")
    page.wait_for_selector("#tree-body .node >> nth=0")
    assert page.locator("#alt-body").is_hidden()
    # group by agent: the five overlapping calls stack into sub-rows, every bar labelled
    page.check("#group-agents")
    page.wait_for_selector("#alt-body .subrow")
    lanes = page.locator("#alt-body .subrow").evaluate_all(
        "rows => rows.map((r) => r.dataset.agent)"
    )
    assert len(lanes) == 6 and len(set(lanes)) == 2  # the planner: one row; the worker: five
    bars = page.locator("#alt-body .bar")
    assert bars.count() == 9
    boxes = page.locator("#alt-body .subrow").evaluate_all(
        """rows => rows.map((r) => [...r.querySelectorAll('.bar')].map((b) => {
             const x = b.getBoundingClientRect(); return [x.left, x.right]; }))"""
    )
    for spans in boxes:  # no two bars of a sub-row overlap
        spans.sort()
        assert all(a[1] <= b[0] + 0.5 for a, b in zip(spans, spans[1:], strict=False))
    assert "fetch-3" in page.inner_text(f"#alt-body .bar[data-event-id='{ids['fetch-3']}']")
    page.locator(f"#alt-body .bar[data-event-id='{ids['fetch-4']}']").click()
    page.wait_for_selector("#inspector h3 >> text=fetch-4")
    page.screenshot(path=str(SCREENSHOTS / f"{size}-session-by-agent.png"), full_page=True)
    fits(page)


def test_live_updates_while_an_agent_records(world: World, page_at: Any, size: str) -> None:
    page, server = page_at, world.server
    sign_in(page, world)
    project = f"{server.url}/projects/{server.project_id}"
    # the list shows a new session by itself
    page.goto(f"{project}/sessions")
    page.evaluate("window.__sameLoad = true")
    agent = TestAgent(server.url, server.api_key, tags=[f"live-{size}"])
    try:
        first = agent.event("llms", "gpt-4o-mini", 0, 0.5)
        row = page.locator(f"#sessions tr[data-session-id='{agent.session_id}']")
        row.wait_for(timeout=15_000)
        assert row.locator(".state").inner_text().startswith("Running")
        # the session page follows it: new events, elapsed time, then its end
        page.goto(f"{project}/sessions/{agent.session_id}")
        page.wait_for_selector("#waterfall[data-state=ready]")
        page.evaluate("window.__sameLoad = true")
        assert page.inner_text("#session-state").startswith("Running")
        assert page.locator("#tree-body .node").count() == 1
        second = agent.event("tools", "web-search", 0.6, 0.3)
        page.wait_for_selector(f"#tree-body .node[data-event-id='{second}']", timeout=15_000)
        third = agent.event("llms", "claude-3-5-sonnet", 1.0, 0.4)
        page.wait_for_selector(f"#tree-body .node[data-event-id='{third}']", timeout=15_000)
        assert page.locator(f"#tree-body .node[data-event-id='{first}']").count() == 1
        page.wait_for_function(
            "() => document.getElementById('session-events').textContent.includes('1 tool')",
            timeout=15_000,
        )
        agent.end("Success", at=1.5)
        page.wait_for_selector("#session-state >> text=Success", timeout=15_000)
        assert page.evaluate("window.__sameLoad") is True  # no reload
        page.screenshot(path=str(SCREENSHOTS / f"{size}-session-live.png"), full_page=True)
    finally:
        agent.close()


def test_the_first_run_page_opens_the_list_when_the_first_session_arrives(
    world: World, page_at: Any, size: str
) -> None:
    page, server = page_at, world.server
    project_id, key = server.create_project(f"New at {size}")
    sign_in(page, world)
    page.goto(f"{server.url}/projects/{project_id}")
    page.wait_for_selector("#first-run")
    assert "agentops.init(api_key=" in page.inner_text("#snippet")
    agent = TestAgent(server.url, key, tags=["first"])
    try:
        agent.event("llms", "gpt-4o-mini", 0, 0.5)
        page.wait_for_selector(
            f"#sessions tr[data-session-id='{agent.session_id}']", timeout=15_000
        )
    finally:
        agent.close()


def test_the_dark_theme_follows_the_system(world: World, page_at: Any, size: str) -> None:
    page = page_at
    page.emulate_media(color_scheme="dark")
    sign_in(page, world)
    page.goto(f"{world.server.url}/projects/{world.server.project_id}/sessions/{world.busy}")
    page.wait_for_selector("#waterfall[data-state=ready]")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    panel = page.evaluate(
        "getComputedStyle(document.getElementById('session-summary')).backgroundColor"
    )
    assert background == "rgb(15, 19, 26)" and panel == "rgb(23, 28, 37)"
    page.screenshot(path=str(SCREENSHOTS / f"{size}-session-dark.png"), full_page=True)
    page.emulate_media(color_scheme="light")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(246, 247, 249)"
