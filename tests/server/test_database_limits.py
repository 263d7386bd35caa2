"""Values past what one database entry can hold: PostgreSQL refuses an index entry over 2,704
bytes and a tsvector over 1 MB. Such a batch was answered 503 "database unavailable, retry
later" on every try, so the client retried it until it dropped it. Now it is stored, on both
engines, with the long names cut to 500 characters and the search words in pieces."""

from __future__ import annotations

import random
import string
from typing import Any

import pytest

from tests.server.conftest import LiveServer, llm
from tests.server.test_otlp_bad_input import send_spans, wait_until_stored
from tests.support import otlp_json
from tests.support.otlp_json import STATUS_OK, Span

ENGINES = pytest.mark.parametrize("engine", ["live", "pg_live"])


def words(rng: random.Random, count: int) -> str:
    return " ".join("".join(rng.choices(string.ascii_lowercase, k=9)) for _ in range(count))


@ENGINES
def test_a_batch_of_long_prompts_with_many_distinct_words_is_stored_and_found(
    request: pytest.FixtureRequest, engine: str
) -> None:
    live: LiveServer = request.getfixturevalue(engine)
    rng = random.Random(7)
    session_id, jwt = live.start_session()
    prompts = [words(rng, 790) for _ in range(200)]  # 200 events of 7,900 characters
    batch = [llm(prompt=[{"role": "user", "content": p}]) for p in prompts]
    res = live.send_events(jwt, batch)
    assert res.status_code == 200, res.text
    assert live.stats(session_id)["events"] == 200
    for prompt in (prompts[0], prompts[199]):  # a word of the first and of the last event
        word = prompt.split()[-1]
        found = live.get("/v2/sessions", params={"text": word}, headers=live.key_headers())
        assert [s["id"] for s in found.json()["data"]] == [session_id], word


@ENGINES
def test_a_model_or_agent_name_of_3000_characters_is_cut_to_500(
    request: pytest.FixtureRequest, engine: str
) -> None:
    live: LiveServer = request.getfixturevalue(engine)
    session_id, jwt = live.start_session()
    rng = random.Random(3)  # random: PostgreSQL compresses a repeated letter under its limit
    model, agent = words(rng, 300) + "é", words(rng, 300)
    assert live.send_events(jwt, [llm(model=model)]).status_code == 200
    res = live.post("/v2/create_agent", {"id": "agent-1", "name": agent}, headers=live.auth(jwt))
    assert res.status_code == 200, res.text
    export = live.get(f"/v2/sessions/{session_id}/export", headers=live.key_headers()).json()
    assert export["stats"]["events"] == 1
    [call] = export["llms"]
    assert call["model"] == model[:500].rstrip()
    assert [a["name"] for a in export["agents"]] == [agent[:500].rstrip()]
    listed = live.get("/v2/sessions", params={"model": call["model"]}, headers=live.key_headers())
    assert [s["id"] for s in listed.json()["data"]] == [session_id]


@ENGINES
def test_otlp_spans_with_long_names_tags_and_many_words_are_stored(
    request: pytest.FixtureRequest, engine: str
) -> None:
    live: LiveServer = request.getfixturevalue(engine)
    rng = random.Random(11)
    long_tag, long_model = words(rng, 300), words(rng, 300)  # random: not compressible
    root = Span(
        trace_id=otlp_json.new_trace_id(),
        name="run",
        status_code=STATUS_OK,
        attributes={"agentops.span.kind": "session", "agentops.tags": [long_tag, "short"]},
    )
    chat: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": long_model,
        "gen_ai.usage.input_tokens": 10,
        "gen_ai.usage.output_tokens": 5,
    }
    spans = [root.child("chat", attributes=chat)]
    spans += [  # 511 tools whose arguments hold 100 random ids each (4 KB)
        root.child(
            "tool", attributes={"gen_ai.operation.name": "execute_tool", "args": words(rng, 400)}
        )
        for _ in range(511)
    ]
    res = send_spans(live, [*spans, root], live.key_headers())
    assert res.status_code == 200, res.text
    session_id = otlp_json.session_id(root.trace_id)
    export = wait_until_stored(live, session_id, lambda e: e["stats"]["events"] == 512)
    [call] = export["llms"]
    assert call["model"] == long_model[:500].rstrip()
    assert sorted(export["session"]["tags"]) == sorted(["short", long_tag[:500].rstrip()])


@ENGINES
def test_an_end_reason_too_long_for_one_tsvector_is_found_and_replaced_whole(
    request: pytest.FixtureRequest, engine: str
) -> None:
    """A reason of 900,000 characters is more words than one tsvector holds: PostgreSQL keeps
    them in several documents, and a new reason replaces every one of them."""
    live: LiveServer = request.getfixturevalue(engine)
    rng = random.Random(5)
    session_id, jwt = live.start_session()
    reason = words(rng, 90_000)
    first, last = reason.split()[0], reason.split()[-1]

    def end(why: str) -> None:
        body = {"session": {"end_state": "Fail", "end_state_reason": why, "is_running": False}}
        res = live.post("/v2/update_session", body, headers=live.auth(jwt))
        assert res.status_code == 200, res.text

    def found(text: str) -> list[str]:
        res = live.get("/v2/sessions", params={"text": text}, headers=live.key_headers())
        return [s["id"] for s in res.json()["data"]]

    end(reason)
    assert found(first) == found(last) == [session_id]
    end("the real reason")
    assert found(first) == found(last) == []
    assert found("real reason") == [session_id]
