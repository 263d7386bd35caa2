"""The overview in a real browser: charts drawn at their box's width (axis text never
squashed), hourly buckets for a short range, every model with failed calls apart from unpriced
ones, LLM latency, and a bar that opens the sessions it counts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.browser.conftest import Seeded, shot, sign_in
from tests.browser.seed import seed_sessions
from tests.support.dashboard import printed_admin_password
from tests.support.server import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _llm(model: str, tokens: int | None, seconds: float) -> dict[str, Any]:
    start = datetime.now(UTC) - timedelta(seconds=seconds + 1)
    return {
        "id": str(uuid.uuid4()),
        "event_type": "llms",
        "init_timestamp": start.isoformat(),
        "end_timestamp": (start + timedelta(seconds=seconds)).isoformat(),
        "model": model,
        "prompt": [{"role": "user", "content": "hello"}],
        "completion": {"role": "assistant", "content": "" if tokens is None else "hi"},
        "prompt_tokens": tokens,
        "completion_tokens": tokens,
    }


def _record_v2(server: ServerProcess, events: list[dict[str, Any]]) -> str:
    """A session through the v2 API holding `events`, ended as Fail."""
    session_id = str(uuid.uuid4())
    headers = {"X-Agentops-Api-Key": server.api_key}
    with httpx.Client(base_url=server.url, timeout=30) as client:
        created = client.post(
            "/v2/create_session", headers=headers, json={"session": {"session_id": session_id}}
        )
        created.raise_for_status()
        headers["Authorization"] = f"Bearer {created.json()['jwt']}"
        client.post(
            "/v2/create_events", headers=headers, json={"events": events}
        ).raise_for_status()
        ended = {"session": {"session_id": session_id, "end_state": "Fail"}}
        client.post("/v2/update_session", headers=headers, json=ended).raise_for_status()
    return session_id


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    server = ServerProcess(data_dir=tmp_path_factory.mktemp("overview") / "server").start()
    try:
        password = printed_admin_password(server)
        ids = seed_sessions(
            server,
            [{"tags": ["priced"], "prompts": ["one", "two"], "end_state": "Success"}],
        )
        failing = _record_v2(
            server,
            [
                _llm("my-finetune-v3", 50, 0.4),  # tokens, but no price: unpriced
                _llm("claude-3-5-haiku-20241022", None, 0.2),  # no tokens: a failed call
            ],
        )
        yield Seeded(server, password, [*ids, failing], "priced")
    finally:
        server.stop()


@pytest.mark.parametrize("width", [1440, 390])
def test_charts_are_readable_and_show_every_model(
    models: Seeded, browser_page: Any, width: int
) -> None:
    page = browser_page
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, models)
    page.goto(page.url.split("?")[0] + "?days=1")
    page.wait_for_selector("#chart-states svg")
    for chart in ("states", "cost", "tokens", "errors", "latency", "models"):
        svg = page.locator(f"#chart-{chart} svg")
        assert svg.get_attribute("preserveAspectRatio") is None, chart
        box = page.locator(f"#chart-{chart}").bounding_box()
        drawn = svg.bounding_box()
        assert drawn["width"] <= box["width"] + 1, chart  # never wider than its box
        assert int(svg.get_attribute("width")) == round(drawn["width"]), chart  # not stretched
    ticks = page.locator("#chart-states svg text").all_text_contents()
    assert any(t.endswith("h") for t in ticks)  # by the hour for a one-day range
    rows = page.locator("#models tbody tr").all_inner_texts()
    text = "\n".join(rows)
    assert "gpt-4o-mini" in text and "my-finetune-v3" in text and "claude-3-5-haiku" in text
    haiku = next(r for r in rows if "claude-3-5-haiku" in r).split("\t")
    finetune = next(r for r in rows if "my-finetune-v3" in r).split("\t")
    assert haiku[1:4] == ["1", "1", "0"]  # calls, failed, unpriced
    assert finetune[1:4] == ["1", "0", "1"]
    assert "unpriced" in page.inner_text(".cards") and "failed" in page.inner_text(".cards")
    assert page.inner_text("#card-latency").endswith(("ms", "s"))
    shot(page, f"overview-{width}")


def test_a_bar_opens_the_sessions_it_counts(models: Seeded, browser_page: Any) -> None:
    page = browser_page
    sign_in(page, models)
    page.goto(page.url.split("?")[0] + "?days=1")
    page.wait_for_selector("#chart-states svg")
    page.locator("#chart-states svg a rect[fill='#d64545']").first.click()  # the Fail bar
    page.wait_for_url("**/sessions?**end_state=Fail**")
    listed = page.locator("#sessions tbody tr[data-session-id]")
    assert [listed.nth(i).get_attribute("data-session-id") for i in range(listed.count())] == [
        models.session_ids[-1]
    ]
    page.go_back()
    page.wait_for_selector("#chart-models svg")
    page.locator("#chart-models svg a", has_text="my-finetune-v3").first.click()
    page.wait_for_url("**model=my-finetune-v3**")
    assert page.locator("#sessions tbody tr[data-session-id]").count() == 1
