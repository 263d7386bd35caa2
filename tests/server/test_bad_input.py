"""Bad input gets a JSON error with a clear message and the right status, never a 500, and
nothing already stored is harmed."""

from __future__ import annotations

import gzip
import json
import uuid
from typing import Any

import httpx
import pytest

from agentops_server.api.errors import error_body
from agentops_server.auth.keys import hash_key
from agentops_server.auth.tokens import TokenClaims, TokenSigner, load_secret
from tests.server.conftest import LiveServer, action, llm


def assert_error(res: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    assert res.status_code == status, res.text
    body: dict[str, Any] = res.json()
    assert set(body) == {"error", "message"}
    assert body["message"] == body["error"]["message"]
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    for word in words:
        assert word in body["message"], body["message"]
    return body


@pytest.fixture
def seeded(live: LiveServer) -> tuple[LiveServer, str, str]:
    """A session with two stored events; every test checks they are untouched."""
    session_id, jwt = live.start_session()
    assert live.send_events(jwt, [llm(), action()]).status_code == 200
    return live, session_id, jwt


def unharmed(live: LiveServer, session_id: str) -> None:
    stats = live.stats(session_id)
    assert stats["events"] == 2 and stats["prompt_tokens"] == 100
    assert stats["end_state"] == "Indeterminate"


BAD_EVENT_BODIES: list[tuple[str, bytes, int, str]] = [
    ("malformed JSON", b'{"events": [', 400, "not valid JSON"),
    ("empty body", b"", 400, "empty"),
    ("not UTF-8", b'{"events": ["\xff"]}', 400, "UTF-8"),
    # a surrogate encoded as UTF-8 bytes is no UTF-8 either (it was a 500: no database stores it)
    (
        "a surrogate's bytes",
        b'{"events": [{"id": "5b2a8d1c-0f0e-4c3a-9d55-0c1d2e3f4a5b", "event_type": "actions",'
        b' "action_type": "x\xed\xa0\x80y"}]}',
        400,
        "UTF-8",
    ),
    ("UTF-16", '{"events": []}'.encode("utf-16"), 400, "UTF-8"),
    ("a list, not an object", b"[]", 422, "events"),
    ("events missing", b"{}", 422, "events is required"),
    ("events not a list", b'{"events": {"id": 1}}', 422, "must be a list"),
    ("event not an object", b'{"events": [7]}', 422, "events[0] must be an object"),
]


@pytest.mark.parametrize(("name", "raw", "status", "words"), BAD_EVENT_BODIES)
def test_bad_event_bodies(
    seeded: tuple[LiveServer, str, str], name: str, raw: bytes, status: int, words: str
) -> None:
    live, session_id, jwt = seeded
    res = live.post(
        "/v2/create_events",
        content=raw,
        headers={**live.auth(jwt), "Content-Type": "application/json"},
    )
    assert_error(res, status, words)
    unharmed(live, session_id)


BAD_EVENTS: list[tuple[dict[str, Any], str]] = [
    ({"event_type": None}, "events[1].event_type is required"),
    ({"id": None}, "events[1].id is required"),
    ({"id": {"a": 1}}, "events[1].id must be a string"),
    ({"init_timestamp": "yesterday"}, "events[1].init_timestamp is not a valid timestamp"),
    ({"init_timestamp": [2026]}, "events[1].init_timestamp"),
    ({"prompt_tokens": "many"}, "events[1].prompt_tokens must be a whole number"),
    ({"prompt_tokens": -3}, "events[1].prompt_tokens must be between"),
    ({"completion_tokens": 2.5}, "events[1].completion_tokens"),
    ({"cost": "cheap"}, "events[1].cost must be a number"),
    ({"cost": "1_000"}, "events[1].cost must be a number"),  # not 1000 USD, as Decimal reads it
    ({"cost": -1}, "events[1].cost must be a non-negative"),
    ({"model": ["gpt"]}, "events[1].model must be a string"),
    ({"agent_id": 3.5}, "events[1].agent_id must be a string"),
]


@pytest.mark.parametrize(("fields", "message"), BAD_EVENTS)
def test_a_wrong_field_rejects_the_batch_naming_the_field(
    seeded: tuple[LiveServer, str, str], fields: dict[str, Any], message: str
) -> None:
    live, session_id, jwt = seeded
    good = action()
    res = live.send_events(jwt, [good, llm(**fields)])
    assert_error(res, 422, message)
    unharmed(live, session_id)  # the valid event of the batch was not stored either


SID = "5d3c7a9e-1f2b-4c6d-8e0a-9b8c7d6e5f4a"
BAD_SESSIONS: list[tuple[Any, str]] = [
    ({}, "session is required"),
    ({"session": "x"}, "session is required and must be an object"),
    ({"session": {}}, "session.session_id is required"),
    ({"session": {"session_id": ["x"]}}, "session.session_id must be a UUID string, got list"),
    ({"session": {"session_id": 5}}, "session.session_id must be a UUID string, got int"),
    ({"session": {"session_id": "not-a-uuid"}}, "session.session_id must be a UUID like"),
    ({"session": {"session_id": "{" + SID + "}"}}, "session.session_id must be a UUID"),
    ({"session": {"session_id": "urn:uuid:" + SID}}, "session.session_id must be a UUID"),
    ({"session": {"session_id": SID.replace("-", "")}}, "session.session_id must be a UUID"),
    ({"session": {"session_id": " " + SID}}, "session.session_id must be a UUID"),
    ({"session": {"session_id": SID, "end_state": "Great"}}, "session.end_state must be one"),
    ({"session": {"session_id": SID, "tags": 5}}, "session.tags must be a list"),
    ({"session": {"session_id": SID, "host_env": [1]}}, "session.host_env must be an object"),
    ({"session": {"session_id": SID, "init_timestamp": "soon"}}, "session.init_timestamp"),
    (
        {"session": {"session_id": SID, "end_state": "Success", "is_running": "false"}},
        "session.is_running must be true or false",
    ),  # a truthy string: the end had been ignored silently
]


@pytest.mark.parametrize(("body", "message"), BAD_SESSIONS)
def test_bad_create_session_bodies(live: LiveServer, body: Any, message: str) -> None:
    res = live.post("/v2/create_session", body, headers=live.key_headers())
    assert_error(res, 422, message)


# Every route of the API that takes a JSON body, with a body it accepts. Found by review: the
# PUT routes took only `Content-Type: application/json` (curl -d sends a form's type) and
# answered `: Input should be a valid dictionary or object to extract fields from`, and 422
# `0: JSON decode error` for bad JSON, where the POST routes answer 400 `not valid JSON: ...`.
BODY_ROUTES: list[tuple[str, str, dict[str, Any]]] = [
    ("PUT", "/v2/budget", {"daily_limit_usd": "10"}),
    ("PUT", "/v2/prices/my-model", {"input_per_mtok": "1", "output_per_mtok": 2}),
    ("POST", "/v2/alerts/rules", {"kind": "session_failed", "webhook_url": "http://127.0.0.1:9/"}),
    ("POST", "/v2/developer_errors", {"type": "E", "message": "m"}),
]


@pytest.mark.parametrize(("method", "path", "body"), BODY_ROUTES, ids=lambda v: str(v)[:30])
def test_every_json_body_is_read_alike_whatever_its_content_type(
    live: LiveServer, method: str, path: str, body: dict[str, Any]
) -> None:
    def send(raw: bytes, **headers: str) -> httpx.Response:
        all_headers = {**live.key_headers(), **headers}
        return live.client.request(method, live.url + path, content=raw, headers=all_headers)

    text = json.dumps(body).encode()
    assert 200 <= send(text).status_code < 300  # no Content-Type, as `curl -d` without -H
    form = send(text, **{"Content-Type": "application/x-www-form-urlencoded"})
    assert 200 <= form.status_code < 300  # what `curl -d` sends
    zipped = send(gzip.compress(text), **{"Content-Encoding": "gzip"})
    assert 200 <= zipped.status_code < 300
    json_type = {"Content-Type": "application/json"}
    assert_error(send(b'{"a": ', **json_type), 400, "request body is not valid JSON: ")
    assert_error(send(b"", **json_type), 400, "request body is empty")
    assert_error(send(b"\xff", **json_type), 400, "request body is not UTF-8")
    assert_error(send(b"[1]", **json_type), 422, "JSON object")


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/v2/prices/m", {"output_per_mtok": "1"}, "input_per_mtok: required"),
        (
            "/v2/prices/m",
            {"input_per_mtok": "1", "output_per_mtok": -1},
            "output_per_mtok: Input should be greater than or equal to 0",
        ),
        (
            "/v2/prices/m",
            {"input_per_mtok": "1E2", "output_per_mtok": "1"},
            'input_per_mtok: a price string is a plain decimal number of USD, like "0.15"',
        ),
        (
            "/v2/budget",
            {"daily_limit_usd": "-1", "weekly_limit_usd": 5},
            "daily_limit_usd: must be more than 0 USD, got '-1'; weekly_limit_usd: unknown field "
            "(the fields are daily_limit_usd, monthly_limit_usd)",
        ),
    ],
)
def test_the_put_routes_name_the_fields_at_fault(
    live: LiveServer, path: str, body: dict[str, Any], message: str
) -> None:
    answer = live.client.put(live.url + path, json=body, headers=live.key_headers())
    assert assert_error(answer, 422)["error"] == {"code": "invalid_request", "message": message}


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e400"])
def test_a_setting_that_is_not_a_finite_number_is_refused_and_changes_nothing(
    live: LiveServer, number: bytes
) -> None:
    """In a budget or a price, null means "no limit" or "no price": NaN, Infinity or a number
    too large for a float (read as null in an agent's data) cleared the stored value, 200."""
    headers = live.key_headers()
    budget = b'{"daily_limit_usd": 5, "monthly_limit_usd": 50}'
    assert live.client.put(live.url + "/v2/budget", content=budget, headers=headers).is_success
    price = b'{"input_per_mtok": 1, "output_per_mtok": 2, "cache_read_per_mtok": 0.5}'
    assert live.client.put(live.url + "/v2/prices/m1", content=price, headers=headers).is_success
    for path, body in (
        ("/v2/budget", b'{"daily_limit_usd": 5, "monthly_limit_usd": %s}' % number),
        ("/v2/prices/m1", price.replace(b"0.5", number)),
    ):
        answer = live.client.put(live.url + path, content=body, headers=headers)
        assert_error(answer, 400, "not valid JSON", number.lstrip(b"-")[:3].decode())
    stored = live.get("/v2/budget").json()["data"]
    assert (stored["daily_limit_usd"], stored["monthly_limit_usd"]) == ("5", "50")
    kept = live.get("/v2/prices").json()["data"]
    assert [p["cache_read_per_mtok"] for p in kept if p["model"] == "m1"] == ["0.5"]
    rule = b'{"kind": "cost_over", "threshold_usd": %s, "webhook_url": "http://127.0.0.1:9/x"}'
    answer = live.post("/v2/alerts/rules", content=rule % number, headers=headers)
    assert_error(answer, 400, "not valid JSON")


def test_bad_update_session_leaves_the_session_alone(seeded: tuple[LiveServer, str, str]) -> None:
    live, session_id, jwt = seeded
    bad = {"session": {"end_state": "Exploded", "is_running": False}}
    assert_error(live.post("/v2/update_session", bad, headers=live.auth(jwt)), 422, "end_state")
    assert_error(live.post("/v2/update_session", [], headers=live.auth(jwt)), 422, "session")
    unharmed(live, session_id)


def test_unknown_keys_and_placeholders_are_ignored(seeded: tuple[LiveServer, str, str]) -> None:
    live, session_id, jwt = seeded
    weird = action(_lock="", brand_new_field={"x": 1}, agent_id="", end_timestamp="")
    res = live.send_events(jwt, [weird])
    assert res.status_code == 200
    assert live.stats(session_id)["events"] == 3


def test_body_over_the_limit_is_413(seeded: tuple[LiveServer, str, str]) -> None:
    live, session_id, jwt = seeded
    limit = live.config.max_body_bytes
    huge = json.dumps({"events": [action(logs="x" * limit)]}).encode()
    res = live.post(
        "/v2/create_events", content=huge, headers={**live.auth(jwt), "Content-Type": "json"}
    )
    assert_error(res, 413, str(limit))
    unharmed(live, session_id)


def test_gzip_that_inflates_over_the_limit_is_413(seeded: tuple[LiveServer, str, str]) -> None:
    live, session_id, jwt = seeded
    bomb = json.dumps({"events": [action(logs=" " * (live.config.max_body_bytes + 10))]})
    packed = gzip.compress(bomb.encode())
    assert len(packed) < live.config.max_body_bytes // 100
    res = live.post(
        "/v2/create_events",
        content=packed,
        headers={**live.auth(jwt), "Content-Encoding": "gzip"},
    )
    assert_error(res, 413, "limit")
    unharmed(live, session_id)


def test_corrupt_gzip_is_400_and_unknown_encodings_415(seeded: tuple[LiveServer, str, str]) -> None:
    live, session_id, jwt = seeded
    headers = {**live.auth(jwt), "Content-Encoding": "gzip"}
    assert_error(live.post("/v2/create_events", content=b"not gzip", headers=headers), 400, "gzip")
    two_members = gzip.compress(b'{"events": [') + gzip.compress(b"]}")
    res = live.post("/v2/create_events", content=two_members + b"junk", headers=headers)
    assert_error(res, 400, "after its gzip data")
    headers["Content-Encoding"] = "br"
    assert_error(live.post("/v2/create_events", content=b"{}", headers=headers), 415, "br")
    unharmed(live, session_id)


def test_nan_infinity_and_huge_numbers_are_stored_as_null(
    seeded: tuple[LiveServer, str, str],
) -> None:
    live, session_id, jwt = seeded
    raw = (
        '{"events": [{"id": "nan-1", "event_type": "llms", "model": "gpt-4o-mini",'
        ' "prompt_tokens": NaN, "completion_tokens": Infinity, "params": {"t": -Infinity,'
        ' "big": 1e999}, "init_timestamp": "2026-11-21T12:36:31Z",'
        ' "prompt": "caf\\u00e9 \\u0000"}]}'
    )
    res = live.post(
        "/v2/create_events",
        content=raw.encode(),
        headers={**live.auth(jwt), "Content-Type": "application/json"},
    )
    assert res.status_code == 200, res.text
    event = live.store.get_event(session_id, "nan-1")
    assert event.prompt_tokens is None and event.completion_tokens is None
    assert event.payload["params"] == {"t": None, "big": None}
    assert event.payload["prompt"] == "café "
    assert event.cost_nanos is None  # unknown tokens: unknown cost, not 0


@pytest.mark.parametrize(
    ("headers", "status", "words"),
    [
        ({}, 401, "missing API key"),
        ({"X-Agentops-Api-Key": "not-a-uuid"}, 401, "format"),
        ({"X-Agentops-Api-Key": str(uuid.uuid4())}, 401, "invalid API key"),
    ],
)
def test_create_session_needs_a_valid_key(
    live: LiveServer, headers: dict[str, str], status: int, words: str
) -> None:
    res = live.post(
        "/v2/create_session", {"session": {"session_id": str(uuid.uuid4())}}, headers=headers
    )
    assert_error(res, status, words)


def test_revoked_keys_are_refused_everywhere(seeded: tuple[LiveServer, str, str]) -> None:
    live, session_id, jwt = seeded
    key = live.new_key()
    assert (
        live.post(
            "/v2/create_session",
            {"session": {"session_id": str(uuid.uuid4())}},
            headers=live.key_headers(key),
        ).status_code
        == 200
    )
    record = live.store.find_api_key(hash_key(key))
    assert record is not None
    live.store.revoke_api_key(record.id)
    res = live.post(
        "/v2/create_session",
        {"session": {"session_id": str(uuid.uuid4())}},
        headers=live.key_headers(key),
    )
    assert_error(res, 401, "revoked")
    res = live.get(f"/v2/sessions/{session_id}/stats", headers={"X-Agentops-Api-Key": key})
    assert_error(res, 401, "invalid API key")
    auth = {"Authorization": f"Bearer {jwt}", "X-Agentops-Api-Key": key}
    assert_error(live.post("/v2/create_events", {"events": [action()]}, headers=auth), 401)
    unharmed(live, session_id)


@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer", "Basic abc", "Bearer aos1.xxx.yyy", "Bearer garbage", "Bearer aos1..sig"],
)
def test_bad_session_tokens_are_401(
    seeded: tuple[LiveServer, str, str], authorization: str
) -> None:
    live, session_id, _ = seeded
    headers = {"Authorization": authorization} if authorization else {}
    for path, body in [
        ("/v2/create_events", {"events": [action()]}),
        ("/v2/update_session", {"session": {"end_state": "Fail", "is_running": False}}),
        ("/v2/create_agent", {"id": "a", "name": "b"}),
    ]:
        assert_error(live.post(path, body, headers=headers), 401, "token")
    unharmed(live, session_id)


def test_a_signature_with_non_ascii_characters_is_401(
    seeded: tuple[LiveServer, str, str],
) -> None:
    """A header is bytes: a signature of "é" is a wrong signature, not a server error."""
    live, session_id, jwt = seeded
    version, claims, _ = jwt.split(".")
    for token in (f"{version}.{claims}.é", "aot1.YWJj.é"):
        header = [(b"Authorization", f"Bearer {token}".encode())]
        for path, body in [
            ("/v2/create_events", {"events": [action()]}),
            ("/v2/update_session", {"session": {"end_state": "Fail"}}),
            ("/v1/traces", {"resourceSpans": []}),
            ("/v4/objects/upload/", "a log line"),
        ]:
            res = live.client.post(f"{live.url}{path}", json=body, headers=header)
            assert res.status_code == 401, (token, path, res.status_code, res.text)
            assert "signature" in res.text or "token" in res.text, res.text
    unharmed(live, session_id)


def test_a_tampered_token_is_401(seeded: tuple[LiveServer, str, str]) -> None:
    live, session_id, jwt = seeded
    version, claims, signature = jwt.split(".")
    forged = f"{version}.{claims[:-2]}AA.{signature}"
    res = live.post(
        "/v2/create_events", {"events": [action()]}, headers={"Authorization": f"Bearer {forged}"}
    )
    assert_error(res, 401, "signature")
    unharmed(live, session_id)


def test_a_token_with_another_projects_key_is_401(seeded: tuple[LiveServer, str, str]) -> None:
    live, session_id, jwt = seeded
    other = live.store.create_project("Other")
    other_key = live.new_key(other.id)
    headers = {"Authorization": f"Bearer {jwt}", "X-Agentops-Api-Key": other_key}
    assert_error(live.post("/v2/create_events", {"events": [action()]}, headers=headers), 401)
    unharmed(live, session_id)


def test_another_projects_session_is_404(seeded: tuple[LiveServer, str, str]) -> None:
    live, session_id, _ = seeded
    other = live.store.create_project("Other")
    other_key = live.new_key(other.id)
    headers = {"X-Agentops-Api-Key": other_key}
    for path in (f"/v2/sessions/{session_id}/stats", f"/v2/sessions/{session_id}/export"):
        assert_error(live.get(path, headers=headers), 404, "not found")
    res = live.post("/v2/reauthorize_jwt", {"session_id": session_id}, headers=headers)
    assert_error(res, 404, "not found")
    # reusing its id from another project does not touch it either
    res = live.post("/v2/create_session", {"session": {"session_id": session_id}}, headers=headers)
    assert_error(res, 409, "another project")
    assert live.get("/v2/sessions", headers=headers).json()["data"] == []
    unharmed(live, session_id)


def test_store_errors_keep_their_exact_answers(seeded: tuple[LiveServer, str, str]) -> None:
    """The app's handlers answer what the routes let through (api/errors.py DOMAIN_ERRORS):
    each with the status, code and message the routes gave before, on the fast ingest routes
    and FastAPI's alike."""
    live, session_id, _ = seeded
    other_key = live.new_key(live.store.create_project("Other").id)
    taken = live.post(
        "/v2/create_session",
        {"session": {"session_id": session_id}},
        headers=live.key_headers(other_key),
    )
    message = f"session id {session_id} is already used by another project"
    assert (taken.status_code, taken.json()) == (409, error_body("conflict", message))
    missing = str(uuid.uuid4())  # a token for a session that is not stored
    key = live.store.find_api_key(hash_key(live.api_key))
    assert key is not None
    claims = TokenClaims(live.project_id, missing, False, key.id)
    bearer = {"Authorization": f"Bearer {TokenSigner(load_secret(live.config)).issue(claims)}"}
    gone = error_body("not_found", f"session {missing} not found")
    for path, body in (
        ("/v2/create_events", {"events": [action()]}),
        ("/v2/create_agent", {"id": str(uuid.uuid4()), "name": "agent"}),
        ("/v2/update_session", {"session": {"end_state": "Success"}}),
    ):
        res = live.post(path, body, headers=bearer)
        assert (res.status_code, res.json()) == (404, gone), path
    res = live.post("/v2/reauthorize_jwt", {"session_id": missing}, headers=live.key_headers())
    assert (res.status_code, res.json()) == (404, gone)
    res = live.post("/v2/create_agent", {"name": "agent"}, headers=bearer)
    assert (res.status_code, res.json()) == (422, error_body("invalid_request", "id is required"))
    res = live.get("/v2/sessions", params={"cursor": "forged!"})
    message = "invalid cursor: invalid cursor 'forged!'"
    assert (res.status_code, res.json()) == (400, error_body("bad_request", message))
    unharmed(live, session_id)


def test_unknown_sessions_routes_and_parameters(live: LiveServer) -> None:
    assert_error(live.get(f"/v2/sessions/{uuid.uuid4()}/stats"), 404, "not found")
    assert_error(live.get("/v2/nothing-here"), 404)
    assert_error(live.get("/v2/sessions", params={"limit": "lots"}), 422, "limit")
    assert_error(live.get("/v2/sessions", params={"end_state": "Maybe"}), 422, "end_state")
    assert_error(live.get("/v2/sessions", params={"cursor": "forged!"}), 400, "cursor")
    assert_error(live.get("/v2/sessions", params={"started_after": "noon"}), 422)


def test_absurd_timestamps_and_deep_nesting_are_client_errors(
    seeded: tuple[LiveServer, str, str],
) -> None:
    live, session_id, jwt = seeded
    res = live.send_events(jwt, [action(init_timestamp="0001-01-01T00:00:00+01:00")])
    assert_error(res, 422, "out of range")
    res = live.send_events(jwt, [action(init_timestamp=1e300)])
    assert_error(res, 422, "init_timestamp")
    # an integer too large even for a float
    res = live.send_events(jwt, [action(end_timestamp=10**400)])
    assert_error(res, 422, "end_timestamp")
    res = live.post(
        "/v2/update_session", {"session": {"end_timestamp": -(10**400)}}, headers=live.auth(jwt)
    )
    assert_error(res, 422, "end_timestamp")
    for depth in (1_000, 100_000):  # 1,000: past the stdlib parser's reach, within orjson's
        deep = b'{"events": [{"params": ' + b"[" * depth + b"]" * depth + b"}]}"
        res = live.post("/v2/create_events", content=deep, headers=live.auth(jwt))
        assert_error(res, 400, "nested too deeply")
    unharmed(live, session_id)


def test_deep_nesting_under_the_parser_limit_is_stored_and_exported(
    seeded: tuple[LiveServer, str, str],
) -> None:
    live, session_id, jwt = seeded
    for depth in (200, 500, 800):
        body = (
            b'{"events": [{"id": "deep-%d", "event_type": "actions", "params": ' % depth
            + b"[" * depth
            + b"]" * depth
            + b"}]}"
        )
        res = live.post("/v2/create_events", content=body, headers=live.auth(jwt))
        assert res.status_code == 200, res.text
    assert live.stats(session_id)["events"] == 2 + 3
    export = live.get(f"/v2/sessions/{session_id}/export")
    assert export.status_code == 200 and len(export.json()["actions"]) == 1 + 3


def test_too_many_events_in_one_request_is_413(seeded: tuple[LiveServer, str, str]) -> None:
    live, session_id, jwt = seeded
    events = [{"id": f"x{n}", "event_type": "actions"} for n in range(10_001)]
    assert_error(live.send_events(jwt, events), 413, "at most 10000")
    unharmed(live, session_id)


def test_token_counts_and_costs_past_the_per_event_limits_are_422(
    seeded: tuple[LiveServer, str, str],
) -> None:
    """Bounds that keep every stored value and every sum inside int64 (2**62 prompt tokens
    used to price past int64 and answer 500), each refused naming the field."""
    live, session_id, jwt = seeded
    too_many = llm(prompt_tokens=2**62, completion_tokens=0)
    assert_error(live.send_events(jwt, [too_many]), 422, "events[0].prompt_tokens must be between")
    assert_error(live.send_events(jwt, [llm(cost=10**9)]), 422, "events[0].cost must be at most")
    priced_too_high = llm(model="gpt-4o", prompt_tokens=10**12, completion_tokens=0)
    assert_error(
        live.send_events(jwt, [priced_too_high]), 422, "events[0].prompt_tokens/completion_tokens"
    )
    unharmed(live, session_id)
    at_the_limits = [llm(prompt_tokens=10**12, completion_tokens=0, cost=10**6)]
    assert live.send_events(jwt, at_the_limits).status_code == 200
    assert live.stats(session_id)["prompt_tokens"] == 100 + 10**12


def million_dollar_calls(count: int) -> list[dict[str, Any]]:
    """LLM events at the per-event cost limit (small bodies: only what the server needs)."""
    return [
        {"id": str(uuid.uuid4()), "event_type": "llms", "model": "gpt-4o-mini", "cost": 10**6}
        for _ in range(count)
    ]


@pytest.mark.parametrize("engine", ["live", "pg_live"])
def test_a_session_total_past_the_storage_limit_is_refused_whole(
    request: pytest.FixtureRequest, engine: str
) -> None:
    """A session's cost total stops at 2**62 nano-USD (4.6 billion USD): the batch that would
    pass it is a 422 and stores nothing; a batch whose own sum passes int64 too (it used to
    answer 500)."""
    live: LiveServer = request.getfixturevalue(engine)
    session_id, jwt = live.start_session()
    assert live.send_events(jwt, million_dollar_calls(4000)).status_code == 200
    over = live.send_events(jwt, million_dollar_calls(1000))
    assert_error(over, 422, f"session {session_id}'s total cost past 4.6 billion USD")
    assert_error(live.send_events(jwt, million_dollar_calls(10_000)), 422, "total cost past")
    stats = live.stats(session_id)
    assert (stats["events"], stats["cost"]) == (4000, "4000000000")
    assert live.send_events(jwt, [llm()]).status_code == 200  # the session still takes events
    assert live.stats(session_id)["events"] == 4001


@pytest.mark.parametrize("engine", ["live", "pg_live"])
def test_a_tag_over_500_characters_is_cut_to_500_and_the_session_kept(
    request: pytest.FixtureRequest, engine: str
) -> None:
    """A 20,000-character tag was past PostgreSQL's index entry size: a 500. Refusing it would
    lose the whole session (the 0.3 client drops a session whose create fails), so it is cut;
    500 four-byte characters fit both engines' indexes."""
    live: LiveServer = request.getfixturevalue(engine)
    long_tag = "x" * 20_000
    session_id, jwt = live.start_session(tags=["ok", long_tag])
    widest = "\U0001f600" * 600  # 2,400 bytes of UTF-8, cut to 2,000
    res = live.post(
        "/v2/update_session", {"session": {"tags": ["ok", widest]}}, headers=live.auth(jwt)
    )
    assert res.status_code == 200, res.text
    assert live.send_events(jwt, [action()]).status_code == 200
    exported = live.get(f"/v2/sessions/{session_id}/export").json()
    assert exported["session"]["tags"] == ["ok", "\U0001f600" * 500]
    assert len(exported["actions"]) == 1
    listed = live.get("/v2/sessions", params={"tag": "\U0001f600" * 500}).json()["data"]
    assert [s["id"] for s in listed] == [session_id]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v2/sessions?tag=%00"),
        ("GET", "/v2/sessions?text=a%00b"),
        ("GET", "/v2/sessions/%00/stats"),
        ("GET", "/v2/sessions/a%00b/export"),
        ("PUT", "/v2/prices/a%00b"),
        ("GET", "/projects/p/sessions?format=json&q=%00"),
    ],
)
def test_a_nul_in_a_url_is_400_on_postgresql(pg_live: LiveServer, method: str, path: str) -> None:
    """PostgreSQL stores no NUL in text: it used to reach SQL and answer 500."""
    res = pg_live.client.request(
        method,
        pg_live.url + path,
        headers=pg_live.key_headers(),
        json={"input_per_mtok": 1, "output_per_mtok": 1} if method == "PUT" else None,
    )
    assert_error(res, 400, "NUL characters (%00) are not allowed")


@pytest.mark.parametrize("engine", ["live", "pg_live"])
def test_a_time_bound_past_utcs_range_is_422(request: pytest.FixtureRequest, engine: str) -> None:
    """A valid ISO 8601 time that leaves year 1..9999 once converted to UTC was a 500."""
    live: LiveServer = request.getfixturevalue(engine)
    session_id, _ = live.start_session()
    for field, value in [
        ("started_after", "9999-12-31T23:59:59-14:00"),
        ("started_before", "0001-01-01T00:00:00+14:00"),
    ]:
        res = live.get("/v2/sessions", params={field: value})
        assert_error(res, 422, f"{field} is out of range once converted to UTC")
    edge = live.get("/v2/sessions", params={"started_after": "0001-01-01T00:00:00"})
    assert [s["id"] for s in edge.json()["data"]] == [session_id]
