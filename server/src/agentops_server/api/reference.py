"""The interactive API reference: Swagger UI at /docs and ReDoc at /redoc, both served from
this server (the files come with the fastapi-offline package), so they work offline and under
a Content-Security-Policy that admits no other origin and no inline script."""

from __future__ import annotations

from importlib import metadata, resources
from pathlib import Path
from typing import Final

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response

HERE = Path(__file__).resolve().parent
ASSET_TYPES: Final = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}
OFFLINE_ASSETS: Final = (
    "swagger-ui-bundle.js",
    "swagger-ui.css",
    "redoc.standalone.js",
    "favicon.png",
)
_COMMON_CSP: Final = (
    "default-src 'none'; script-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self' data:; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
)
# Swagger UI styles elements through the DOM only; ReDoc (styled-components) adds <style>
# elements and runs its search index in a worker built from a blob: URL.
SWAGGER_CSP: Final = f"{_COMMON_CSP}; style-src 'self'"
REDOC_CSP: Final = f"{_COMMON_CSP}; style-src 'self' 'unsafe-inline'; worker-src blob:"

PAGE: Final = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="{assets}/favicon.png?v={version}">
{stylesheet}
</head>
<body>
<div id="{element}" data-openapi-url="{openapi_url}"></div>
<script src="{assets}/{bundle}?v={version}"></script>
<script src="{assets}/reference.js?v={version}"></script>
</body>
</html>
"""


def _asset_paths() -> dict[str, Path]:
    offline = Path(str(resources.files("fastapi_offline") / "static"))
    paths = {name: offline / name for name in OFFLINE_ASSETS}
    paths["reference.js"] = HERE / "static" / "reference.js"
    return paths


def reference_router(title: str, openapi_url: str, prefix: str = "/docs") -> APIRouter:
    """GET /docs, /redoc and /docs/assets/{name}."""
    router = APIRouter(include_in_schema=False)
    paths = _asset_paths()
    version = metadata.version("fastapi-offline")
    assets = f"{prefix}/assets"

    def page(element: str, bundle: str, stylesheet: str, csp: str, kind: str) -> HTMLResponse:
        html = PAGE.format(
            title=f"{title} – {kind}",
            assets=assets,
            version=version,
            stylesheet=stylesheet,
            element=element,
            openapi_url=openapi_url,
            bundle=bundle,
        )
        headers = {"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff"}
        return HTMLResponse(html, headers=headers)

    @router.get(prefix)
    def swagger_ui() -> HTMLResponse:
        css = f'<link rel="stylesheet" href="{assets}/swagger-ui.css?v={version}">'
        return page("swagger-ui", "swagger-ui-bundle.js", css, SWAGGER_CSP, "API (Swagger UI)")

    @router.get("/redoc")
    def redoc() -> HTMLResponse:
        return page("redoc", "redoc.standalone.js", "", REDOC_CSP, "API reference (ReDoc)")

    @router.get(assets + "/{name}")
    def asset(name: str) -> Response:
        path = paths.get(name)
        if path is None:
            return Response("not found", status_code=404, media_type="text/plain")
        headers = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}
        return FileResponse(path, media_type=ASSET_TYPES[path.suffix], headers=headers)

    return router
