"""Browser tests: Playwright drives Debian's Chromium against a real `agentops serve` seeded
through the real SDK. Screenshots of every page go to test-artifacts/screenshots/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.browser.seed import seed_sessions
from tests.conftest import REPO_ROOT, require
from tests.support.dashboard import FIRST_ADMIN_LOGIN, printed_admin_password
from tests.support.server import ServerProcess

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
# What a hostile agent might put in a prompt: none of it may run in the dashboard.
HOSTILE_PROMPT = (
    "<script>window.__pwned = 'script'; alert('script')</script>"
    "<img src=x onerror=\"window.__pwned='img'; alert('img')\"> What is 2+2?"
)


@dataclass
class Seeded:
    server: ServerProcess
    password: str
    session_ids: list[str]
    tag: str


def chromium_available() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return Path(CHROMIUM).exists() or shutil.which("chromium") is not None


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """One server with three sessions; the one tagged `tag` holds the hostile prompt."""
    server = ServerProcess(data_dir=tmp_path_factory.mktemp("dashboard") / "server").start()
    try:
        password = printed_admin_password(server)
        ids = seed_sessions(
            server,
            [
                {
                    "tags": ["browser", "findme-42", "<b>bold</b>"],
                    "prompts": [HOSTILE_PROMPT, "and 3+3?"],
                    "end_state": "Fail",
                    "reason": "tool <i>exploded</i>",
                    "error": True,
                },
                {"tags": ["browser"], "prompts": ["hello"], "end_state": "Success"},
                {"tags": ["other"], "prompts": [], "end_state": "Indeterminate"},
            ],
        )
        yield Seeded(server, password, ids, "findme-42")
    finally:
        server.stop()


@pytest.fixture
def browser_page() -> Iterator[Any]:
    """A fresh Chromium page; the test fails (not skips) without Chromium under REQUIRE_ALL."""
    require(chromium_available(), f"Chromium at {CHROMIUM} with the playwright package")
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            yield context.new_page()
            context.close()
        finally:
            browser.close()


def sign_in(page: Any, seeded: Seeded) -> None:
    page.goto(seeded.server.url + "/")
    page.wait_for_url("**/login**")
    page.fill("input[name=email]", FIRST_ADMIN_LOGIN)
    page.fill("input[name=password]", seeded.password)
    page.click("button[type=submit]")
    page.wait_for_url("**/projects/**")


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
