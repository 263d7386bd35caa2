"""REST price overrides on a real `agentops serve`: auth, validation, effect on ingestion."""

from __future__ import annotations

import uuid
from decimal import Decimal

import httpx

from tests.integrations.conftest import export, run_agent
from tests.support.fake_providers import FakeProviders
from tests.support.server import ServerProcess


def api(server: ServerProcess, method: str, path: str, **kwargs: object) -> httpx.Response:
    headers = {"X-Agentops-Api-Key": server.api_key}
    return httpx.request(method, f"{server.url}{path}", headers=headers, timeout=30, **kwargs)  # type: ignore[arg-type]


def test_put_get_list_delete(server: ServerProcess) -> None:
    body = {"input_per_mtok": "1.25", "output_per_mtok": 5, "cache_read_per_mtok": "0.125"}
    put = api(server, "PUT", "/v2/prices/org/My-FT-Model", json=body)
    assert put.status_code == 200, put.text
    assert put.json()["data"] == {
        "model": "org/my-ft-model",
        "source": "override",
        "provider": None,
        "matched_model": "org/my-ft-model",
        "input_per_mtok": "1.25",
        "output_per_mtok": "5",
        "cache_read_per_mtok": "0.125",
        "cache_write_per_mtok": None,
    }
    assert [p["model"] for p in api(server, "GET", "/v2/prices").json()["data"]] == [
        "org/my-ft-model"
    ]
    got = api(server, "GET", "/v2/prices/org/my-ft-model").json()["data"]
    assert got["source"] == "override" and got["input_per_mtok"] == "1.25"
    table = api(server, "GET", "/v2/prices/gpt-4o-mini").json()["data"]
    assert table["source"] == "computed" and table["provider"] == "openai"
    assert Decimal(table["input_per_mtok"]) == Decimal("0.15")

    deleted = api(server, "DELETE", "/v2/prices/org/my-ft-model")
    assert deleted.status_code == 200 and deleted.json()["data"]["source"] == "unknown_model"
    again = api(server, "DELETE", "/v2/prices/org/my-ft-model")
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "not_found"
    assert api(server, "GET", "/v2/prices").json()["data"] == []


def test_errors_use_the_api_error_format(server: ServerProcess) -> None:
    anonymous = httpx.get(f"{server.url}/v2/prices", timeout=30)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "missing_api_key"
    wrong = httpx.get(
        f"{server.url}/v2/prices", headers={"X-Agentops-Api-Key": str(uuid.uuid4())}, timeout=30
    )
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
    for body in (
        {"input_per_mtok": "-1", "output_per_mtok": "1"},
        {"input_per_mtok": "NaN", "output_per_mtok": "1"},
        {"output_per_mtok": "1"},
        {"input_per_mtok": "abc", "output_per_mtok": "1"},
        # what Decimal() reads but the documented pattern refuses, as PUT /v2/budget does
        *({"input_per_mtok": text, "output_per_mtok": "1"}
          for text in ("1E2", "1_000", "+5", " 5", "5.", "\uff11\uff12", "\u0663")),
    ):  # fmt: skip
        bad = api(server, "PUT", "/v2/prices/m", json=body)
        assert bad.status_code == 422, body
        payload = bad.json()
        assert payload["error"]["code"] == "invalid_request"
        assert payload["message"] == payload["error"]["message"]


def test_an_override_prices_the_next_ingested_events_at_once(server: ServerProcess) -> None:
    put = api(
        server,
        "PUT",
        "/v2/prices/my-ft-model",
        json={"input_per_mtok": "2", "output_per_mtok": "10"},
    )
    assert put.status_code == 200
    body = """
    agentops.record(agentops.LLMEvent(model="my-ft-model", prompt=[], prompt_tokens=300_000,
                                      completion_tokens=20_000))
    agentops.record(agentops.LLMEvent(model="never-heard-of-it", prompt_tokens=5,
                                      completion_tokens=5))
    """
    with FakeProviders() as fake:  # unused here: the agent records events by hand
        result = run_agent(server, fake, body)
    data = export(server, result["session_id"])
    costs = sorted((e["model"], e["cost"], e["cost_source"]) for e in data["llms"])
    # 0.3M x $2 + 0.02M x $10 = $0.8; the unknown model is unknown, not $0
    assert costs == [
        ("my-ft-model", "0.8", "override"),
        ("never-heard-of-it", None, "unknown_model"),
    ]
    assert data["stats"]["cost"] == "0.8" and data["stats"]["cost_complete"] is False
    assert result["end_session_cost"] is not None
    assert Decimal(result["end_session_cost"]) == Decimal("0.8")


def test_an_override_prices_the_dated_names_the_sdk_records(server: ServerProcess) -> None:
    """OpenAI answers with a dated model (gpt-4o-mini-2024-07-18), which the SDK records;
    an override on the name in the code applies to it, unless the dated name has its own."""
    for model, price in (("gpt-4o-mini", "3"), ("claude-3-5-sonnet-20241022", "5")):
        put = api(server, "PUT", f"/v2/prices/{model}",
                  json={"input_per_mtok": price, "output_per_mtok": price})  # fmt: skip
        assert put.status_code == 200, put.text
    api(server, "PUT", "/v2/prices/claude-3-5-sonnet",
        json={"input_per_mtok": "9", "output_per_mtok": "9"})  # fmt: skip
    got = api(server, "GET", "/v2/prices/gpt-4o-mini-2024-07-18").json()["data"]
    assert (got["source"], got["matched_model"], got["input_per_mtok"]) == (
        "override",
        "gpt-4o-mini",
        "3",
    )
    body = """
    for model in ("gpt-4o-mini-2024-07-18", "claude-3-5-sonnet-20241022"):
        agentops.record(agentops.LLMEvent(model=model, prompt_tokens=1_000_000,
                                          completion_tokens=0))
    """
    with FakeProviders() as fake:  # unused here: the agent records events by hand
        result = run_agent(server, fake, body)
    data = export(server, result["session_id"])
    assert sorted((e["model"], e["cost"], e["cost_source"]) for e in data["llms"]) == [
        ("claude-3-5-sonnet-20241022", "5", "override"),  # its own override wins
        ("gpt-4o-mini-2024-07-18", "3", "override"),
    ]
