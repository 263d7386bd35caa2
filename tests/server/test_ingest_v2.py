"""Wire JSON -> records: the 0.3 client's quirks, pricing provenance, and session tokens."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agentops_server.api.body import parse_json
from agentops_server.api.errors import ApiError
from agentops_server.auth.tokens import InvalidToken, TokenClaims, TokenSigner, load_secret
from agentops_server.config import ServerConfig
from agentops_server.ingest.v2 import Invalid, event_writes, session_write
from agentops_server.pricing import Pricer
from agentops_server.storage.records import CostSource, EventWrite
from agentops_server.storage.types import dumps
from agentops_server.timestamps import parse_timestamp
from tests.server.conftest import action, error, llm

NOW = datetime(2026, 11, 21, 13, 0, tzinfo=UTC)


def normalize(*events: dict[str, object]) -> list[EventWrite]:
    return event_writes(list(events), session_id="s", project_id="p", pricer=Pricer(), now=NOW)


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-21T12:36:31.888890+00:00",
        "2026-11-21T12:36:31.888890Z",
        "2026-11-21T12:36:31.888890",
        "2026-11-21T14:36:31.888890+02:00",
    ],
)
def test_every_timestamp_variant_is_aware_utc(text: str) -> None:
    assert parse_timestamp(text) == datetime(2026, 11, 21, 12, 36, 31, 888890, tzinfo=UTC)


def test_millisecond_and_fractionless_timestamps() -> None:
    assert parse_timestamp("2026-11-21T12:36:31.888Z") == datetime(
        2026, 11, 21, 12, 36, 31, 888000, tzinfo=UTC
    )
    assert parse_timestamp("2026-11-21T12:36:31") == datetime(2026, 11, 21, 12, 36, 31, tzinfo=UTC)
    assert parse_timestamp("") is None and parse_timestamp(None) is None


def test_nan_and_infinity_tokens_become_null_everywhere() -> None:
    value = parse_json(b'{"a": NaN, "b": [Infinity, -Infinity, 1.5, 1e400], "c": "\\u0000x"}')
    assert value == {"a": None, "b": [None, None, 1.5, None], "c": "x"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # integers past 64 bits stay exact integers (the limits then refuse them by name)
        (b'{"n": 123456789012345678901234567890}', {"n": 123456789012345678901234567890}),
        (b'{"n": -9223372036854775809}', {"n": -9223372036854775809}),
        (b'{"n": 18446744073709551615, "f": 0.5}', {"n": 18446744073709551615, "f": 0.5}),
        # a lone surrogate (JSON allows the escape, no database stores it) is replaced
        (b'{"s": "a\\ud800b"}', {"s": "a?b"}),
        (
            b'{"s": "a\\udc00", "n": 1234567890123456789012}',
            {"s": "a?", "n": 1234567890123456789012},
        ),
        # an emoji as json.dumps escapes it (a surrogate pair) is the emoji; a NUL is dropped
        (b'{"s": "\\ud83d\\ude00 ok"}', {"s": "\U0001f600 ok"}),
        (b'{"s": ["\\ud83d\\ude00\\u0000!"]}', {"s": ["\U0001f600!"]}),
        (
            b'{"k": [1, 2.5, "\\u00e9", true, null, {"x": {}}]}',
            {"k": [1, 2.5, "\u00e9", True, None, {"x": {}}]},
        ),
        (b'{"a": 1, "a": 2}', {"a": 2}),
    ],
)
def test_bodies_parse_to_the_exact_values_sent(raw: bytes, expected: object) -> None:
    assert parse_json(raw) == expected


def test_storage_json_round_trips_what_the_client_sent() -> None:
    value = {"big": 2**70, "nan": float("nan"), "nul": "a\x00b", "uni": "\u00e9\u2028", "t": [1, 2]}
    assert json.loads(dumps(value)) == {
        "big": 2**70,
        "nan": None,
        "nul": "a\ufffdb",
        "uni": "\u00e9\u2028",
        "t": [1, 2],
    }


def test_unparsable_json_is_a_400_api_error() -> None:
    with pytest.raises(ApiError) as caught:
        parse_json(b"{'single': 'quotes'}")
    assert caught.value.status == 400


@pytest.mark.parametrize(
    "raw",
    [
        b'{"s": "\xed\xa0\x80"}',  # the UTF-8 bytes of a lone surrogate
        b'{"s": "\xed\xa0\x80", "n": 1234567890123456789012}',  # ... for the stdlib parser
        '{"s": "\\u0000"}'.encode("utf-16"),
        '{"s": "x"}'.encode("utf-32"),
    ],
)
def test_bodies_that_are_not_utf8_are_a_400(raw: bytes) -> None:
    with pytest.raises(ApiError) as caught:
        parse_json(raw)
    assert caught.value.status == 400 and "UTF-8" in caught.value.message


def test_a_utf8_byte_order_mark_is_read_past() -> None:
    assert parse_json(b'\xef\xbb\xbf{"n": 12345678901234567890123}') == {
        "n": 12345678901234567890123
    }


def test_unknown_types_become_actions_keeping_the_original_type() -> None:
    (event,) = normalize(action(event_type="apis", action_type=None, name="GET /x"))
    assert event.event_type == "actions" and event.name == "GET /x"
    assert event.payload["event_type"] == "apis"


def test_placeholders_and_missing_timestamps() -> None:
    (event,) = normalize(action(agent_id="", init_timestamp="", end_timestamp=None))
    assert event.agent_id is None and event.init_timestamp == NOW and event.end_timestamp is None


def test_llm_pricing_provenance() -> None:
    computed, reported, unknown_model, unknown_tokens = normalize(
        llm(), llm(cost=0.01), llm(model="no-such-model-zz"), llm(completion_tokens=None)
    )
    assert computed.cost_source == CostSource.COMPUTED and computed.cost_nanos
    assert computed.model == "gpt-4o-mini" and computed.prompt_tokens == 100
    assert (reported.cost_source, reported.cost_nanos) == (CostSource.REPORTED, 10_000_000)
    assert unknown_model.cost_source == CostSource.UNKNOWN_MODEL
    assert unknown_model.cost_nanos is None
    assert unknown_tokens.cost_source == CostSource.UNKNOWN_TOKENS
    assert unknown_tokens.cost_nanos is None


def test_extension_token_fields_are_lifted() -> None:
    (event,) = normalize(
        llm(provider="openai", cache_read_tokens=10, cache_write_tokens=2, reasoning_tokens=7)
    )
    assert (event.provider, event.cache_read_tokens, event.cache_write_tokens) == ("openai", 10, 2)
    assert event.reasoning_tokens == 7 and "cache_read_tokens" not in event.payload


def test_error_events_keep_their_trigger_link() -> None:
    sent, nested = normalize(
        error(trigger_event_id="t1", trigger_event_type="tools"),
        error(trigger_event={"id": "t2", "event_type": "llms"}),
    )
    assert sent.name == "ValueError"
    assert (sent.payload["trigger_event_id"], sent.payload["trigger_event_type"]) == ("t1", "tools")
    assert nested.payload["trigger_event_id"] == "t2"


def test_a_bad_event_names_its_index_and_field() -> None:
    with pytest.raises(Invalid, match=r"events\[1\]\.prompt_tokens"):
        normalize(llm(), llm(prompt_tokens="lots"))


def test_session_end_fields_count_only_at_the_end() -> None:
    running = {"end_timestamp": "2026-11-21T12:00:00Z", "end_state": "Indeterminate"}
    write = session_write(
        {**running, "is_running": True}, session_id="s", project_id="p", creating=False
    )
    assert write.end_timestamp is None and write.end_state is None
    write = session_write(
        {**running, "is_running": False}, session_id="s", project_id="p", creating=False
    )
    assert write.end_state == "Indeterminate" and write.end_timestamp is not None
    write = session_write({"end_state": "Failure"}, session_id="s", project_id="p", creating=False)
    assert write.end_state == "Fail"


def test_tokens_are_signed_and_tamper_evident() -> None:
    signer = TokenSigner(b"secret")
    claims = TokenClaims("project", "session", attached=True)
    token = signer.issue(claims)
    assert signer.verify(token) == claims
    with pytest.raises(InvalidToken):
        TokenSigner(b"other").verify(token)
    with pytest.raises(InvalidToken):
        signer.verify(token.replace("aos1", "aos2"))


def test_the_token_secret_is_generated_once_with_mode_0600(tmp_path: Path) -> None:
    config = ServerConfig.build(data_dir=tmp_path / "d", environ={})
    first = load_secret(config)
    assert load_secret(config) == first and len(first) > 40
    mode = stat.S_IMODE(os.stat(tmp_path / "d" / "secret.key").st_mode)
    assert mode == 0o600
    key = "k" * 16  # the shortest a signer takes
    configured = ServerConfig.build(data_dir=tmp_path / "d", environ={"AGENTOPS_SECRET_KEY": key})
    assert load_secret(configured) == key.encode()
