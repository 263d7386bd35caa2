"""Budgets in the SDK, in-process: the project's budget told by the server's answers
(X-AgentOps-Budget-Exceeded), the handler's edge cases, settings and the price ceilings.

The server's side of the project budget is built apart: `BudgetServer` is a minimal loopback
server answering the v2 routes as ours does, with the two headers while `exceeded` is set.
The end-to-end test (our real server) comes when both sides are merged.
"""

from __future__ import annotations

import gzip
import json
import pickle
import threading
import uuid
from collections.abc import Iterable, Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar, cast

import anthropic
import openai
import pytest
from genai_prices import Usage, calc_price, data_snapshot
from openai.types.chat import ChatCompletionChunk

import agentops
from agentops import _prices
from agentops._config import Configuration
from agentops._errors import ConfigurationError
from agentops.testing import InMemoryTransport
from tests.sdk.conftest import LogLines
from tests.support import fake_providers as fp
from tests.support.fake_providers import FakeProviders

MESSAGE = "the project's daily budget of $10.00 is reached ($10.42 spent on 2026-12-04 UTC)"
MSGS = [{"role": "user", "content": "Say hi"}]


class BudgetServer(ThreadingHTTPServer):
    """Answers create_session, create_events, update_session and create_agent like our
    server; adds the budget headers to every answer while `exceeded` is set."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.exceeded: tuple[str, str] | None = None  # (periods, message)
        self.refuse_events: list[int] = []  # statuses for create_events first, as a proxy would
        self.updates: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: BudgetServer

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        body = json.loads(raw or b"{}")
        if self.path == "/v2/create_events" and self.server.refuse_events:
            status = self.server.refuse_events.pop(0)  # a proxy's answer: no budget headers
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        answer: dict[str, Any] = {"status": "Success"}
        if self.path == "/v2/create_session":
            answer["jwt"] = "token-" + body["session"]["session_id"]
        elif self.path == "/v2/update_session":
            self.server.updates.append(body["session"])
            answer["token_cost"] = "0.00"
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if self.server.exceeded is not None:
            periods, message = self.server.exceeded
            self.send_header("X-AgentOps-Budget-Exceeded", periods)
            if message:
                self.send_header("X-AgentOps-Budget-Message", message)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def budget_server() -> Iterator[BudgetServer]:
    server = BudgetServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


ClientT = TypeVar("ClientT", openai.OpenAI, anthropic.Anthropic)
_open_clients: list[openai.OpenAI | anthropic.Anthropic] = []


def closed_after_the_test(client: ClientT) -> ClientT:
    """A provider client the `fake` fixture closes (its pooled socket is not left to the GC)."""
    _open_clients.append(client)
    return client


@pytest.fixture
def fake() -> Iterator[FakeProviders]:
    with FakeProviders() as providers:
        try:
            yield providers
        finally:
            while _open_clients:
                _open_clients.pop().close()


def sent_calls(fake: FakeProviders) -> int:
    return sum(1 for r in fake.requests if r["path"] == "/v1/chat/completions")


def chat(client: openai.OpenAI, tag: str = "t") -> None:
    client.chat.completions.create(model="gpt-4o-mini", messages=MSGS, user=tag)  # type: ignore[arg-type]


def test_the_project_budget_signal_refuses_calls_until_an_answer_clears_it(
    budget_server: BudgetServer, fake: FakeProviders, agentops_log: LogLines
) -> None:
    session = agentops.init(api_key=str(uuid.uuid4()), endpoint=budget_server.url)
    assert session is not None
    client = closed_after_the_test(
        openai.OpenAI(base_url=fake.url + "/v1", api_key="sk-fake", max_retries=0)
    )
    chat(client)
    budget_server.exceeded = ("daily", MESSAGE)
    assert agentops.flush(10)  # the answer to the events carries the headers
    with pytest.raises(agentops.BudgetExceeded) as refused:
        chat(client, "refused")
    assert refused.value.limit == "project_daily_budget"
    assert refused.value.maximum is None and refused.value.used is None
    assert str(refused.value) == f"budget: the project's daily budget is reached ({MESSAGE})"
    assert refused.value.session_id == str(session.session_id)
    copied = pickle.loads(pickle.dumps(refused.value))  # e.g. across a process pool
    assert (copied.limit, str(copied), copied.session_id) == (
        "project_daily_budget",
        str(refused.value),
        str(session.session_id),
    )
    assert "the project's daily budget is reached" in agentops_log.text
    assert sent_calls(fake) == 1
    budget_server.exceeded = None
    assert agentops.flush(10)  # the refused call's events: answered without the header
    chat(client)
    assert sent_calls(fake) == 2
    agentops.end_session("Success")
    final = budget_server.updates[-1]
    assert final["end_state_reason"] == str(refused.value)


def test_an_error_answer_without_the_headers_does_not_lift_the_project_budget(
    budget_server: BudgetServer, fake: FakeProviders
) -> None:
    # a proxy's 400 (or an answer whose sign-in failed) says nothing of the budget
    agentops.init(api_key=str(uuid.uuid4()), endpoint=budget_server.url)
    client = closed_after_the_test(
        openai.OpenAI(base_url=fake.url + "/v1", api_key="sk-fake", max_retries=0)
    )
    budget_server.exceeded = ("daily", MESSAGE)
    agentops.record(agentops.ActionEvent(action_type="step"))
    assert agentops.flush(10)
    budget_server.refuse_events = [400]
    agentops.record(agentops.ActionEvent(action_type="step"))
    agentops.flush(10)
    assert budget_server.refuse_events == []  # the 400 was answered
    with pytest.raises(agentops.BudgetExceeded):
        chat(client, "still refused")
    assert sent_calls(fake) == 0
    agentops.end_session("Success")


def test_both_periods_and_a_handler_that_allows_the_call(
    budget_server: BudgetServer, fake: FakeProviders
) -> None:
    asked: list[agentops.BudgetExceeded] = []

    def allow(exc: agentops.BudgetExceeded) -> bool:
        asked.append(exc)
        return True

    agentops.init(api_key=str(uuid.uuid4()), endpoint=budget_server.url, on_budget_exceeded=allow)
    client = closed_after_the_test(
        openai.OpenAI(base_url=fake.url + "/v1", api_key="sk-fake", max_retries=0)
    )
    budget_server.exceeded = ("daily, monthly", "")
    agentops.record(agentops.ActionEvent(action_type="plan"))
    assert agentops.flush(10)  # answered with the headers
    chat(client)
    assert sent_calls(fake) == 1
    (exc,) = asked
    assert exc.limit == "project_daily_budget"
    assert str(exc) == "budget: the project's daily and monthly budget is reached"
    agentops.end_session("Success")
    assert budget_server.updates[-1]["end_state_reason"] is None  # nothing was stopped


def session_with(transport: InMemoryTransport, **limits: Any) -> agentops.Session:
    session = agentops.init(api_key=str(uuid.uuid4()), transport=transport, **limits)
    assert session is not None
    return session


def test_a_failing_handler_refuses_the_call(fake: FakeProviders, agentops_log: LogLines) -> None:
    def broken(exc: agentops.BudgetExceeded) -> bool:
        raise RuntimeError("handler bug")

    transport = InMemoryTransport()
    session = session_with(transport, max_llm_calls=0, on_budget_exceeded=broken)
    client = closed_after_the_test(
        openai.OpenAI(base_url=fake.url + "/v1", api_key="sk-fake", max_retries=0)
    )
    with pytest.raises(agentops.BudgetExceeded) as refused:
        chat(client)
    assert isinstance(refused.value.__cause__, RuntimeError)
    assert "on_budget_exceeded raised RuntimeError('handler bug')" in agentops_log.text
    assert sent_calls(fake) == 0
    agentops.end_session("Fail", "gave up")
    reason = transport.sessions[str(session.session_id)]["end_state_reason"]
    assert reason == "budget: max_llm_calls 0 reached (0 used); gave up"


def test_a_session_left_by_budget_exceeded_is_not_told_twice(fake: FakeProviders) -> None:
    transport = InMemoryTransport()
    agentops.init(api_key=str(uuid.uuid4()), transport=transport, auto_start_session=False)
    client = closed_after_the_test(
        openai.OpenAI(base_url=fake.url + "/v1", api_key="sk-fake", max_retries=0)
    )
    session = agentops.start_session(max_llm_calls=1)
    assert session is not None
    with pytest.raises(agentops.BudgetExceeded), session:
        chat(client)
        chat(client)
    stored = transport.sessions[str(session.session_id)]
    assert stored["end_state"] == "Fail"
    # the reason is the exception's (message: traceback), not prefixed a second time
    assert stored["end_state_reason"].startswith("budget: max_llm_calls 1 reached (1 used): ")


def test_a_reason_that_is_not_a_string_follows_the_limit(fake: FakeProviders) -> None:
    # end_session("Fail", exc) worked before budgets (the reason is sent as its text): a
    # session stopped by a budget must not raise TypeError into the caller instead
    transport = InMemoryTransport()
    agentops.init(api_key=str(uuid.uuid4()), transport=transport, auto_start_session=False)
    client = closed_after_the_test(
        openai.OpenAI(base_url=fake.url + "/v1", api_key="sk-fake", max_retries=0)
    )
    session = agentops.start_session(max_llm_calls=1)
    assert session is not None
    chat(client)
    with pytest.raises(agentops.BudgetExceeded):
        chat(client)
    agentops.end_session("Fail", ValueError("the agent gave up"))  # type: ignore[arg-type]
    stored = transport.sessions[str(session.session_id)]
    assert stored["end_state_reason"] == (
        "budget: max_llm_calls 1 reached (1 used); the agent gave up"
    )


def test_streams_left_early_count_their_prompt_tokens(fake: FakeProviders) -> None:
    # an agent that stops reading each stream at its first event still pays for the prompt
    agentops.init(
        api_key=str(uuid.uuid4()), transport=InMemoryTransport(), auto_start_session=False
    )
    client = closed_after_the_test(
        anthropic.Anthropic(base_url=fake.url, api_key="sk-ant-fake", max_retries=0)
    )
    prompt = fp.ANTH_INPUT + fp.ANTH_CACHE_READ + fp.ANTH_CACHE_WRITE
    session = agentops.start_session(max_tokens=2 * prompt)
    assert session is not None
    sent = 0
    with pytest.raises(agentops.BudgetExceeded) as refused:
        for _ in range(5):
            stream = client.messages.create(
                model="claude-3-5-sonnet-20241022",
                max_tokens=64,
                messages=[{"role": "user", "content": "Say hi"}],
                stream=True,
            )
            sent += 1
            with stream:
                next(iter(stream))  # message_start: the prompt's usage, then left
    assert sent == 2 and refused.value.limit == "max_tokens"
    assert session.budget.tokens >= 2 * prompt
    agentops.end_session("Success")


def test_streams_without_usage_count_an_upper_bound_of_their_tokens(
    fake: FakeProviders,
) -> None:
    """An OpenAI stream without usage reports no token counts: the budget counts one token per
    byte of the prompt's and the completion's text (a token is at least one byte), so a
    max_tokens limit still stops the loop."""
    client = closed_after_the_test(
        openai.OpenAI(base_url=fake.url + "/v1", api_key="sk-fake", max_retries=0)
    )
    session = session_with(InMemoryTransport(), max_tokens=10, max_llm_calls=5)
    streamed = ""
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=MSGS,  # type: ignore[arg-type]
        stream=True,  # and no stream_options: no token counts
    )
    chunks = cast("Iterable[ChatCompletionChunk]", stream)
    for chunk in chunks:
        if chunk.choices and chunk.choices[0].delta.content:
            streamed += chunk.choices[0].delta.content
    texts = [m["content"] for m in MSGS] + [streamed]
    assert streamed and session.budget.tokens >= sum(len(t.encode()) for t in texts)
    with pytest.raises(agentops.BudgetExceeded) as refused:
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=MSGS,  # type: ignore[arg-type]
            stream=True,
        )
    assert refused.value.limit == "max_tokens"
    assert sent_calls(fake) == 1
    agentops.end_session("Success")


async def _async_handler(exc: agentops.BudgetExceeded) -> bool:
    return True  # never awaited by the SDK: its coroutine is not True, so it would refuse


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"max_cost_usd": "lots"}, "max_cost_usd must be a number of US dollars >= 0"),
        ({"max_cost_usd": -1}, "max_cost_usd must be a number of US dollars >= 0"),
        ({"max_cost_usd": float("inf")}, "max_cost_usd must be a number of US dollars >= 0"),
        ({"max_cost_usd": True}, "max_cost_usd must be a number of US dollars >= 0"),
        ({"max_tokens": 1.5}, "max_tokens must be a whole number >= 0"),
        ({"max_llm_calls": -1}, "max_llm_calls must be a whole number >= 0"),
        ({"on_budget_exceeded": "stop"}, "on_budget_exceeded must be a callable"),
        ({"on_budget_exceeded": _async_handler}, "on_budget_exceeded must be a plain function"),
    ],
)
def test_bad_limits_are_refused_with_a_clear_error(changes: dict[str, Any], error: str) -> None:
    with pytest.raises(ConfigurationError, match=error):
        Configuration(**changes)


def test_limits_given_as_numbers_or_text(agentops_log: LogLines) -> None:
    assert Configuration().replace(max_cost_usd="0.50").max_cost_usd == Decimal("0.50")
    assert Configuration().replace(max_cost_usd=2).max_cost_usd == Decimal(2)
    assert Configuration().replace(max_cost_usd=0.1).max_cost_usd == Decimal("0.1")
    transport = InMemoryTransport()
    session = session_with(transport, max_llm_calls=-3, max_tokens=100)
    assert "Ignoring the setting max_llm_calls: max_llm_calls must be" in agentops_log.text
    assert (session.budget.max_llm_calls, session.budget.max_tokens) == (None, 100)


def test_the_ceilings_are_never_below_genai_prices() -> None:
    """Every OpenAI and Anthropic model genai-prices lists, priced for a usage with cache
    reads and writes, costs no more than the ceiling estimate of its name."""
    snapshot = data_snapshot.get_snapshot()
    usage = {"input_tokens": 1_000_000, "cache_read_tokens": 200_000, "output_tokens": 500_000}
    checked = 0
    for provider in snapshot.providers:
        if provider.id not in ("openai", "anthropic"):
            continue
        for model in provider.models:
            for values in (usage, {**usage, "cache_write_tokens": 300_000}):
                try:
                    price = calc_price(Usage(**values), model.id, provider_id=provider.id)
                except (LookupError, ValueError):
                    continue  # not priced per token (images, audio minutes)
                estimate = _prices.ceiling_cost(model.id, 1_000_000, 500_000)
                assert price.total_price <= estimate, model.id
                checked += 1
    assert checked > 100


def test_prices_fall_back_to_the_ceiling() -> None:
    assert _prices.source() == "genai-prices"
    assert _prices.cost_of("no-such-model", "openai", 1000, 500) == Decimal("0.45")
    assert _prices.cost_of("openai/gpt-4o-mini", None, 10**6, 0) < Decimal("1.25")
    assert _prices.ceiling("openai/gpt-4o-mini") == _prices.CEILINGS["gpt-4o-mini"]
    assert _prices.cost_of("gpt-4o-mini", "openai", -1, 5) == _prices.ceiling_cost(
        "gpt-4o-mini", -1, 5
    )  # a usage genai-prices refuses never raises
