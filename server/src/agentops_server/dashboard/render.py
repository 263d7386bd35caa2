"""Turning the dashboard's query results into responses: HTML pages, their JSON twins, static
files, and the security headers every dashboard response carries.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

HERE = Path(__file__).resolve().parent
STATIC_TYPES: Final = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
# No inline script or style anywhere: all code comes from /static, data from JSON elements.
CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def wants_json(request: Request) -> bool:
    """`?format=json` asks any page for its JSON twin."""
    return request.query_params.get("format") == "json"


def json_url(request: Request) -> str:
    """This page's JSON twin: the same URL and query with format=json."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "format"]
    params.append(("format", "json"))
    return f"{request.url.path}?{urlencode(params)}"


class StaticFiles:
    """The files of dashboard/static, read once, served with a content hash in their URL."""

    def __init__(self, folder: Path = HERE / "static") -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        self.versions: dict[str, str] = {}
        for path in sorted(folder.iterdir()):
            if path.suffix in STATIC_TYPES:
                body = path.read_bytes()
                self.files[path.name] = (body, STATIC_TYPES[path.suffix])
                self.versions[path.name] = hashlib.sha256(body).hexdigest()[:12]

    def url(self, name: str) -> str:
        return f"/static/{name}?v={self.versions[name]}"

    def response(self, name: str) -> Response:
        found = self.files.get(name)
        if found is None:
            return Response("not found", status_code=404, media_type="text/plain")
        body, media_type = found
        headers = {**SECURITY_HEADERS, "Cache-Control": "public, max-age=86400"}
        return Response(body, media_type=media_type, headers=headers)


class Renderer:
    """Jinja2 with autoescaping on for every template, and the dashboard's display filters."""

    def __init__(self, static: StaticFiles) -> None:
        self.env = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(["html"], default=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals["static_url"] = static.url
        self.env.filters.update(
            num=format_count,
            usd=format_usd,
            duration=format_duration,
            dt=format_datetime,
            percent=format_percent,
            ms=format_ms,
            plain=terminal_text,
        )

    def page(self, template: str, context: Mapping[str, Any], status: int = 200) -> HTMLResponse:
        html = self.env.get_template(template).render(**context)
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def json_response(payload: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(payload, status_code=status, headers=SECURITY_HEADERS)


def json_error(status: int, code: str, message: str) -> JSONResponse:
    return json_response({"error": {"code": code, "message": message}}, status)


def format_count(value: int | float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.0f}"


def format_ms(value: float | None) -> str:
    """A duration in milliseconds, as people read it: "840 ms", "2.4 s"; "–" when unknown."""
    if value is None:
        return "–"
    if value >= 1000:
        return f"{value / 1000:.1f} s" if value < 10_000 else f"{value / 1000:.0f} s"
    return f"{value:.0f} ms"


def format_usd(value: str | None) -> Markup:
    """Exact decimal USD strings as money to 4 significant digits, the exact amount on hover;
    None means the cost could not be priced."""
    if value is None:
        return Markup("unknown")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        return Markup("{}").format(value)
    exact = ("-$" if amount < 0 else "$") + _plain_decimal(abs(amount))
    return Markup('<span class="usd" title="{}">{}</span>').format(exact, round_usd(amount))


def round_usd(amount: Decimal) -> str:
    """$0.00, $1,235, $12.35, $0.1235, $0.00004512: 4 significant digits, at least cents."""
    if amount == 0:
        return "$0.00"
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    if amount >= 1000:
        return f"{sign}${amount:,.0f}"
    decimals = max(2, 4 - (amount.adjusted() + 1))
    text = f"{amount:,.{decimals}f}"
    if "." in text:
        whole, frac = text.split(".")
        frac = frac.rstrip("0").ljust(2, "0")
        text = f"{whole}.{frac}"
    return f"{sign}${text}"


def _plain_decimal(amount: Decimal) -> str:
    text = f"{amount:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes}m"


def format_datetime(value: str | datetime | None) -> str:
    if value is None or value == "":
        return "–"
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.strftime("%Y-%m-%d %H:%M:%S")


ANSI_ESCAPE: Final = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[()][0-9A-Za-z]|[@-Z\\-_])"
)


def terminal_text(value: str) -> str:
    """Captured terminal output without its escape sequences (colours, cursor moves, titles),
    which would otherwise show as stray characters."""
    return ANSI_ESCAPE.sub("", value)


def format_percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"
