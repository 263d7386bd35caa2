"""The dashboard in a real browser: sign in, find a session by tag, inspect an LLM call, follow
the export link; agent text is inert; projects and API keys."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import Seeded, shot, sign_in
from tests.support.dashboard import printed_admin_password
from tests.support.otlp import SpanSpec, new_trace_id, session_of, trace_request
from tests.support.server import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_find_session_by_tag_inspect_llm_call_and_export(seeded: Seeded, browser_page: Any) -> None:
    page = browser_page
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)

    page.goto(seeded.server.url + "/projects")
    page.wait_for_url("**/login**")  # the dashboard is private
    shot(page, "01-login")
    sign_in(page, seeded)
    page.wait_for_selector("#chart-states svg")
    assert page.inner_text("#card-sessions") == "3"
    shot(page, "02-overview")

    page.click("header nav >> text=Sessions")
    page.fill("input[name=tags]", seeded.tag)
    page.click("#session-filters button[type=submit]")
    page.wait_for_url(f"**tags={seeded.tag}**")
    rows = page.locator("#sessions tbody tr")
    assert rows.count() == 1
    assert "<b>bold</b>" in rows.first.inner_text()  # a tag holding HTML is shown as text
    state = rows.first.locator(".state")
    assert state.inner_text() == "Fail"
    assert state.get_attribute("title") == "tool <i>exploded</i>"  # the reason, on hover
    shot(page, "03-sessions")

    rows.first.locator("a").first.click()
    page.wait_for_url(f"**/sessions/{seeded.session_ids[0]}")
    page.wait_for_selector("#waterfall[data-state=ready]")
    assert page.locator("#waterfall .bar").count() == 6
    # a v2 session without parent ids is one flat level: nothing to expand
    assert page.locator("#tree-body > .node[aria-level='1']").count() == 6
    assert page.locator("#tree-body .toggle").count() == 6
    assert page.locator("#tree-body button.toggle").count() == 0
    assert page.inner_text("#end-reason") == "tool <i>exploded</i>"

    page.locator("#tree-body .node:has(.lane-llms)").first.click()
    page.wait_for_selector("#inspector .msg.user")
    inspector = page.inner_text("#inspector")
    assert "What is 2+2?" in inspector
    assert "<script>window.__pwned = 'script'" in inspector  # shown as text, not run
    assert "You are terse." in inspector and "answer 0" in inspector
    # gpt-4o-mini: 1200 x $0.15/M + 300 x $0.60/M, priced on the server
    assert "$0.00036 (computed)" in page.inner_text("#inspector-facts")
    assert page.locator("#tree-body .node.selected").count() == 1
    shot(page, "04-session-llm-inspector")

    page.locator("#tree-body .node:has(.lane-errors)").first.click()
    page.wait_for_selector("#inspector >> text=Traceback / logs")
    assert "ValueError" in page.inner_text("#inspector")

    before = page.inner_text("#waterfall-range")
    page.click("#zoom-in")
    page.wait_for_function(
        "prev => document.getElementById('waterfall-range').textContent !== prev", arg=before
    )
    page.wait_for_selector("#waterfall[data-state=ready]")
    # the first LLM call started before the zoomed window and ends inside it: still drawn,
    # from the window's left edge
    first_llm = page.locator("#tree-body .bar.lane-llms").first
    assert first_llm.is_visible() and first_llm.evaluate("bar => bar.style.left") == "0%"
    assert page.locator("#tree-body .bar.lane-llms:visible").count() == 2
    shot(page, "05-session-zoomed")
    zoomed = page.inner_text("#waterfall-range")
    box = page.locator("#tree-body").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.keyboard.down("Control")
    page.mouse.wheel(0, 200)  # Ctrl + wheel down: zoom out around the pointer
    page.keyboard.up("Control")
    page.wait_for_function(
        "prev => document.getElementById('waterfall-range').textContent !== prev", arg=zoomed
    )
    page.wait_for_selector("#waterfall[data-state=ready]")

    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert dialogs == []

    with page.expect_download() as download:  # the export is a download, not a page
        page.click("#export-link")
    assert download.value.suggested_filename == f"session-{seeded.session_ids[0]}.json"
    exported = json.loads(Path(download.value.path()).read_text())
    assert exported["session"]["id"] == seeded.session_ids[0]
    assert exported["llms"][0]["prompt"]["messages"][1]["content"].startswith("<script>")


def test_pages_refuse_inline_script_by_policy(seeded: Seeded) -> None:
    """Defence in depth: every dashboard page forbids inline script through its CSP."""
    response = httpx.get(seeded.server.url + "/login", timeout=10)
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert not re.search(r"<script>(?!</script>)", response.text)


def test_create_project_copy_key_and_revoke_it(seeded: Seeded, browser_page: Any) -> None:
    page = browser_page
    page.on("dialog", lambda d: d.accept())  # the revoke confirmation
    sign_in(page, seeded)
    page.click("header nav >> text=Projects")
    page.fill("input[name=name]", "Browser project")
    page.click("text=Create project")
    page.wait_for_selector("#new-key")
    key = page.inner_text("#new-key").strip()
    assert re.fullmatch(r"[0-9a-f-]{36}", key)
    page.click("button[data-copy-target=new-key]")
    page.wait_for_selector("button[data-copy-target=new-key] >> text=/Copied|Selected/")
    shot(page, "07-keys-new")

    # the key works against the export API, until it is revoked
    url = seeded.server.url + "/v2/sessions"
    assert httpx.get(url, headers={"X-Agentops-Api-Key": key}, timeout=10).status_code == 200
    page.click("header nav >> text=API keys")
    row = page.locator("#keys tbody tr", has_text=key[:8])
    assert "active" in row.inner_text()
    row.locator("text=Revoke").click()
    page.wait_for_selector("#keys >> text=revoked")
    shot(page, "08-keys-revoked")
    assert httpx.get(url, headers={"X-Agentops-Api-Key": key}, timeout=10).status_code == 401


def test_an_otlp_tool_call_is_inspected_like_one_our_sdk_recorded(
    tmp_path: Path, browser_page: Any
) -> None:
    """openai-v2's chat span answered with a tool call: one assistant message (one choice)
    whose tool call shows in OpenAI's shape, as for a call our SDK recorded."""
    server = ServerProcess(data_dir=tmp_path / "server").start()
    try:
        password = printed_admin_password(server)
        trace_id = new_trace_id()
        root = SpanSpec("main", trace_id, scope="app")
        answer = [{"role": "assistant", "finish_reason": "tool_calls", "parts": [
            {"type": "tool_call", "id": "call_1", "name": "get_weather",
             "arguments": {"city": "Paris"}}]}]  # fmt: skip
        chat = SpanSpec("chat gpt-4o-mini", trace_id, parent=root.span_id, kind=3, scope="genai",
                        attributes={"gen_ai.operation.name": "chat",
                                    "gen_ai.request.model": "gpt-4o-mini",
                                    "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [
                                        {"type": "text", "content": "Weather in Paris?"}]}]),
                                    "gen_ai.output.messages": json.dumps(answer)})  # fmt: skip
        body = trace_request([chat, root], {"service.name": "app"}).SerializeToString()
        headers = {"Content-Type": "application/x-protobuf", "X-Agentops-Api-Key": server.api_key}
        sent = httpx.post(f"{server.url}/v1/traces", content=body, headers=headers, timeout=30)
        assert sent.status_code == 200, sent.text

        page = browser_page
        sign_in(page, Seeded(server, password, [], ""))
        page.goto(f"{server.url}/sessions/{session_of(trace_id)}")
        page.wait_for_selector("#waterfall[data-state=ready]")
        page.locator("#tree-body .node:has(.lane-llms)").first.click()
        page.wait_for_selector("#inspector .msg.assistant")
        assert page.locator("#inspector .msg.assistant").count() == 1
        calls = json.loads(page.inner_text("#inspector .msg.assistant pre"))
        function = {"name": "get_weather", "arguments": '{"city": "Paris"}'}
        assert calls == [{"id": "call_1", "type": "function", "function": function}]
        assert "Weather in Paris?" in page.inner_text("#inspector .msg.user")
        shot(page, "otlp-tool-call-inspector")
    finally:
        server.stop()
