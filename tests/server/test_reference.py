"""/docs (Swagger UI) and /redoc are served by the server itself: every file they load comes
from this server, and their Content-Security-Policy admits no other origin."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow

LOADED = re.compile(r'(?:src|href)="([^"]+)"')


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_reference_pages_load_only_files_of_this_server(server: ServerProcess, page: str) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        response = client.get(page)
        assert response.status_code == 200
        html = response.text
        assert "http://" not in html and "https://" not in html and "//" not in html
        loaded = LOADED.findall(html)
        assert len(loaded) >= 3  # icon, bundle, our start script (+ the stylesheet for /docs)
        for url in loaded:
            assert url.startswith("/docs/assets/"), url
            asset = client.get(url)
            assert asset.status_code == 200, url
            assert asset.headers["x-content-type-options"] == "nosniff"
            assert len(asset.content) > 100
        assert client.get("/docs/assets/../app.py").status_code == 404
        assert client.get("/docs/assets/secret.key").status_code == 404
    csp = response.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "default-src 'none'" in csp
    assert "http" not in csp and "*" not in csp
    assert "unsafe-eval" not in csp


def test_the_openapi_document_the_pages_render_is_served(server: ServerProcess) -> None:
    document = httpx.get(f"{server.url}/openapi.json", timeout=30).json()
    assert "/v2/create_events" in document["paths"]
    assert not any(path in document["paths"] for path in ("/docs", "/redoc", "/drilldown"))
