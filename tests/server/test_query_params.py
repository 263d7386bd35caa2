"""No date, number or cursor a user types gives a 5xx, on any route: property-based tests over
every query parameter of the REST API and of the dashboard (pages, JSON twins and endpoints),
on a real server, each followed by a request on the same keep-alive connection.

Examples are bounded and derandomized (a fixed seed), so a run is repeatable.
"""

from __future__ import annotations

import string
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from agentops_server.auth.accounts import create_account
from agentops_server.config import ServerConfig
from tests.server.conftest import LiveServer, llm, running, tool
from tests.support.dashboard import csrf_token
from tests.support.server import free_port

EDGES = [
    "",
    "0",
    "-1",
    "0.5",
    "1e309",
    "nan",
    "inf",
    "-0",
    str(2**63),
    str(-(2**63) - 1),
    str(10**40),
    "9999-12-31",
    "0001-01-01",
    "10000-01-01",
    "2026-02-30",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59.999999",
    "2026-11-21T12:00:00Z",
    "1e3",
    "0x10",
    "true",
    "null",
    "AAAA",
    "////",
    "=" * 8,
    "eyJ0IjoiOTk5OTktMTItMzEifQ",
    "a" * 5000,
]
OFFSETS = st.integers(min_value=-1439, max_value=1439).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
VALUES = st.one_of(
    st.sampled_from(EDGES),
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=40),
    st.text(string.ascii_letters + string.digits + "-_=+/", max_size=60),  # cursor-like
    st.integers().map(str),
    st.floats().map(repr),
    st.dates().map(lambda day: day.isoformat()),
    st.datetimes(timezones=st.one_of(st.just(UTC), OFFSETS, st.none())).map(
        lambda when: when.isoformat()
    ),
)
DAYS = st.one_of(
    st.sampled_from([date.min, date.max, date.max - timedelta(days=1)]), st.dates()
).map(lambda day: day.isoformat())
MOMENTS = st.one_of(
    st.sampled_from([datetime.min, datetime.max]).map(lambda when: when.isoformat()),
    st.datetimes(timezones=st.one_of(st.just(UTC), OFFSETS, st.none())).map(
        lambda when: when.isoformat()
    ),
)
NUMBERS = st.one_of(
    st.integers(min_value=-5, max_value=5000), st.integers(), st.just(2**63), st.just(-(2**63))
).map(str)
AMOUNTS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.decimals(allow_nan=True).map(str),
    NUMBERS,
)
TYPED = {
    "from": DAYS,
    "to": DAYS,
    "started_after": MOMENTS,
    "started_before": MOMENTS,
    "after": MOMENTS,
    "before": MOMENTS,
    **dict.fromkeys(["cost_min", "cost_max", "duration_min", "duration_max"], AMOUNTS),
    **dict.fromkeys(["days", "limit", "buckets", "start_ms", "end_ms", "from_ms"], NUMBERS),
}
"""What a parameter's values look like when typed right; each also gets any value at all."""


@dataclass
class Site:
    live: LiveServer
    browser: httpx.Client  # signed in; one connection, kept alive
    api: httpx.Client  # the project's API key; one connection, kept alive
    session_id: str
    event_id: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data_dir: Path = tmp_path_factory.mktemp("params") / "data"
    config = ServerConfig.build(data_dir=data_dir, port=free_port(), environ={})
    with running(config) as live:
        session_id, jwt = live.start_session(tags=["alpha"])
        event = tool()
        assert live.send_events(jwt, [llm(), event]).status_code == 200
        create_account(live.store, "params@example.com", "correct horse battery")
        one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        with (
            httpx.Client(base_url=live.url, timeout=60, limits=one) as browser,
            httpx.Client(
                base_url=live.url, timeout=60, limits=one, headers=live.key_headers()
            ) as api,
        ):
            token = csrf_token(browser.get("/login").text)
            form = {"csrf_token": token, "email": "params@example.com"}
            signed_in = browser.post("/login", data={**form, "password": "correct horse battery"})
            assert signed_in.status_code == 303
            yield Site(live, browser, api, session_id, str(event["id"]))


ROUTES: dict[str, list[str]] = {
    "overview": ["from", "to", "days", "format"],
    "sessions": (
        "from to days after before tag tags meta end_state q model agent cost_min cost_max "
        "duration_min duration_max sort cursor limit format"
    ).split(),
    "session": ["format"],
    "tree": ["parent_id", "cursor", "limit", "from_ms"],
    "timeline": ["start_ms", "end_ms", "buckets"],
    "events": ["start_ms", "end_ms", "cursor", "limit", "running"],
    "event": ["format"],
    "projects": ["format"],
    "trace_link": ["trace_id", "format"],
    "drilldown": ["session_id", "format"],
    "login": ["next"],
    "api_sessions": (
        "tag end_state started_after started_before text model agent limit cursor"
    ).split(),
    "api_price": ["provider"],
}
"""Every route that reads query parameters, with them (the API's come from its schema too)."""


def path_of(site: Site, route: str) -> str:
    project = f"/projects/{site.live.project_id}"
    session = f"{project}/sessions/{site.session_id}"
    return {
        "overview": project,
        "sessions": f"{project}/sessions",
        "session": session,
        "tree": f"{session}/tree",
        "timeline": f"{session}/timeline",
        "events": f"{session}/events",
        "event": f"{session}/events/{site.event_id}",
        "projects": "/projects",
        "trace_link": "/sessions",
        "drilldown": "/drilldown",
        "login": "/login",
        "api_sessions": "/v2/sessions",
        "api_price": "/v2/prices/gpt-4o-mini",
    }[route]


def check(site: Site, route: str, params: dict[str, str]) -> None:
    client = site.api if route.startswith("api_") else site.browser
    response = client.get(path_of(site, route), params=params)
    assert response.status_code < 500, (route, params, response.text[:500])
    if response.status_code >= 400 and "json" in response.headers.get("content-type", ""):
        assert response.json()["error"]["message"]
    after = client.get("/health")  # the same connection still serves the next request
    assert after.status_code == 200, (route, params)


PROPERTY = settings(
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def params_for(route: str) -> st.SearchStrategy[dict[str, str]]:
    """Any subset of the route's parameters, each with a well-typed or an arbitrary value."""
    optional = {name: st.one_of(TYPED.get(name, VALUES), VALUES) for name in ROUTES[route]}
    return st.fixed_dictionaries({}, optional=optional)


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_no_query_value_gives_a_5xx(site: Site, route: str) -> None:
    @PROPERTY
    @given(params=params_for(route))
    def run(params: dict[str, str]) -> None:
        check(site, route, params)

    run()


@pytest.mark.parametrize(
    ("route", "params"),
    [
        ("overview", {"to": "9999-12-31"}),
        ("overview", {"to": "9999-12-31", "format": "json"}),
        ("sessions", {"to": "9999-12-31"}),
        ("sessions", {"from": "0001-01-01", "to": "9999-12-31", "format": "json"}),
        ("api_sessions", {"started_after": "0001-01-01T00:00:00+14:00"}),
        ("api_sessions", {"started_before": "9999-12-31T23:59:59-14:00"}),
    ],
)
def test_the_ends_of_the_calendar_are_answered(
    site: Site, route: str, params: dict[str, str]
) -> None:
    check(site, route, params)
    client = site.api if route.startswith("api_") else site.browser
    response = client.get(path_of(site, route), params=params)
    assert response.status_code in (200, 422), response.text[:300]


def test_the_last_day_of_the_calendar_includes_every_session(site: Site) -> None:
    path = f"/projects/{site.live.project_id}/sessions"
    listed = site.browser.get(path, params={"to": "9999-12-31", "format": "json"})
    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()["data"]] == [site.session_id]


@pytest.mark.parametrize("kind", ["stats", "export"])
@PROPERTY
@given(session_id=VALUES)
@example(session_id=str(uuid.UUID(int=0)))
def test_no_session_id_in_a_path_gives_a_5xx(site: Site, kind: str, session_id: str) -> None:
    segment = quote(session_id, safe="") or "x"
    response = site.api.get(f"/v2/sessions/{segment}/{kind}")
    assert response.status_code < 500, (session_id, response.text[:300])
    assert site.api.get("/health").status_code == 200
