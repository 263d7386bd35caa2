"""/docs and /redoc in a real Chromium that cannot reach anything but this server: both
render the API, and neither tries to load anything from elsewhere."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.browser.conftest import shot
from tests.support.server import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# ReDoc's footer shows Redocly's logo from its CDN; our CSP blocks it and ReDoc drops the image.
REDOC_ATTRIBUTION = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.fixture(scope="module")
def docs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(data_dir=tmp_path_factory.mktemp("reference") / "server").start()
    try:
        yield server
    finally:
        server.stop()


class Offline:
    """Aborts every request that leaves the server, and keeps what the page tried and said."""

    def __init__(self, page: Any, server_url: str) -> None:
        self.server_url = server_url
        self.elsewhere: list[str] = []
        self.console: list[str] = []
        page.route("**/*", self.route)
        page.on("console", lambda message: self.console.append(message.text))
        page.on("pageerror", lambda error: self.console.append(f"page error: {error}"))

    def route(self, route: Any) -> None:
        url = route.request.url
        if url.startswith((self.server_url + "/", "data:")):
            route.continue_()
        else:
            self.elsewhere.append(url)
            route.abort()


def operations(server: ServerProcess) -> list[str]:
    paths = httpx.get(f"{server.url}/openapi.json", timeout=30).json()["paths"]
    return [path for path in paths if path.startswith("/v2/")]


def test_swagger_ui_renders_every_route_offline(
    docs_server: ServerProcess, browser_page: Any
) -> None:
    page = browser_page
    offline = Offline(page, docs_server.url)
    page.goto(docs_server.url + "/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert page.inner_text(".swagger-ui .info .title").startswith("agentops server")
    page.wait_for_selector(".opblock")
    shown = page.inner_text(".swagger-ui")
    for path in operations(docs_server):
        assert path.replace("{", "").replace("}", "") in shown.replace("{", "").replace("}", "")
    page.locator(".opblock-summary", has_text="/health").first.click()
    page.locator("button.try-out__btn").first.click()
    page.locator("button.execute").first.click()  # "Try it out" calls this server
    page.wait_for_selector(".responses-wrapper .live-responses-table")
    assert '"status": "ok"' in page.inner_text(".live-responses-table")
    shot(page, "20-api-docs")
    assert offline.elsewhere == []
    assert [m for m in offline.console if "Content Security Policy" in m] == []
    assert [m for m in offline.console if m.startswith("page error")] == []


def test_redoc_renders_the_api_offline(docs_server: ServerProcess, browser_page: Any) -> None:
    page = browser_page
    offline = Offline(page, docs_server.url)
    page.goto(docs_server.url + "/redoc")
    page.wait_for_selector(".api-content h1")
    assert page.inner_text(".api-content h1").startswith("agentops server")
    menu = page.inner_text(".menu-content")
    assert "ingest (AgentOps v2)" in menu and "export" in menu
    page.locator(".api-content", has_text="/v2/create_events").wait_for()
    shot(page, "21-api-redoc")
    assert offline.elsewhere == []
    blocked = [m for m in offline.console if "Content Security Policy" in m]
    assert all(REDOC_ATTRIBUTION in m for m in blocked), blocked
    assert [m for m in offline.console if m.startswith("page error")] == []
