"""The app itself: health, the OpenAPI docs, and JSON errors for routing mistakes."""

from __future__ import annotations

from tests.server.conftest import LiveServer


def test_health(live: LiveServer) -> None:
    res = live.client.get(f"{live.url}/health")
    assert res.status_code == 200 and res.json()["status"] == "ok"


def test_openapi_docs_describe_the_ingest_and_export_api(live: LiveServer) -> None:
    page = live.client.get(f"{live.url}/docs")
    assert page.status_code == 200 and "swagger" in page.text.lower()
    document = live.client.get(f"{live.url}/openapi.json").json()
    create_events = document["paths"]["/v2/create_events"]["post"]
    assert "requestBody" in create_events
    schemas = document["components"]["schemas"]
    assert {"CreateSessionBody", "UpdateSessionResponse", "SessionStats", "SessionExport"} <= set(
        schemas
    )
    stats = schemas["SessionStats"]["properties"]
    assert {"session_id", "cost", "events", "duration", "end_state", "event_counts"} <= set(stats)


def test_wrong_method_is_a_json_405(live: LiveServer) -> None:
    res = live.client.get(f"{live.url}/v2/create_events")
    assert res.status_code == 405
    assert res.json()["error"]["code"] == "method_not_allowed"
    assert res.headers["Allow"] == "POST"  # RFC 9110: a 405 names the methods the path takes
    several = live.client.patch(f"{live.url}/v2/budget")
    assert several.status_code == 405 and several.headers["Allow"] == "DELETE, GET, PUT"
    head = live.client.head(f"{live.url}/health")  # the API's GET routes do not answer HEAD
    assert head.status_code == 405 and head.headers["Allow"] == "GET"
