"""Session budgets (max_cost_usd, max_tokens, max_llm_calls): the real openai and anthropic
libraries against the fake providers, stopped at the limit; what the server stored says why."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.integrations.conftest import expected_cost, export, run_agent
from tests.support import fake_providers as fp
from tests.support.fake_providers import FakeProviders
from tests.support.server import ServerProcess

CHAT_TOKENS = fp.CHAT_PROMPT + fp.CHAT_COMPLETION  # what one fake chat completion uses
ANTH_MODEL = "claude-3-5-sonnet-20241022"

OPENAI = """
import openai
client = openai.OpenAI(base_url=FAKE + "/v1", api_key="sk-fake", max_retries=0)
aclient = openai.AsyncOpenAI(base_url=FAKE + "/v1", api_key="sk-fake", max_retries=0)
msgs = [{"role": "user", "content": "Say hi"}]
USAGE = {"include_usage": True}
out["refused"] = []

def refused(exc):
    out["refused"].append({"limit": exc.limit, "maximum": str(exc.maximum),
                           "used": str(exc.used), "message": str(exc)})
"""


def provider_calls(fake: FakeProviders, path: str) -> int:
    """Requests that reached the fake provider (calls actually sent)."""
    return sum(1 for r in fake.requests if r["path"] == path)


def refused_event(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The one refused LLM call (no tokens) and the error event linked to it."""
    (error,) = data["errors"]
    (llm,) = [e for e in data["llms"] if e["id"] == error["trigger_event_id"]]
    return llm, error


def test_a_loop_of_sync_calls_stops_at_max_llm_calls(
    server: ServerProcess, fake: FakeProviders
) -> None:
    body = (
        OPENAI
        + """
for i in range(10):
    try:
        client.chat.completions.create(model="gpt-4o-mini", messages=msgs, user=f"call-{i}")
    except agentops.BudgetExceeded as exc:
        refused(exc)
        break
"""
    )
    result = run_agent(server, fake, body, init_kwargs="max_llm_calls=3")
    assert provider_calls(fake, "/v1/chat/completions") == 3
    assert result["refused"] == [
        {
            "limit": "max_llm_calls",
            "maximum": "3",
            "used": "3",
            "message": "budget: max_llm_calls 3 reached (3 used)",
        }
    ]
    data = export(server, result["session_id"])
    assert data["session"]["end_state"] == "Success"
    assert data["session"]["end_state_reason"] == "budget: max_llm_calls 3 reached (3 used)"
    llm, error = refused_event(data)
    assert llm["params"]["user"] == "call-3"  # the fourth call is the one recorded as refused
    assert (llm["prompt_tokens"], llm["completion_tokens"]) == (0, 0)
    assert Decimal(llm["cost"]) == 0
    assert error["error_type"] == "BudgetExceeded"
    assert error["details"] == "budget: max_llm_calls 3 reached (3 used)"
    assert len(data["llms"]) == 4


def test_async_and_streamed_calls_stop_at_max_tokens_of_start_session(
    server: ServerProcess, fake: FakeProviders
) -> None:
    body = (
        OPENAI
        + """
session = agentops.start_session(max_tokens=4000)

async def main():
    for i in range(10):
        try:
            if i % 2:
                stream = await aclient.chat.completions.create(
                    model="gpt-4o-mini", messages=msgs, user=f"call-{i}", stream=True,
                    stream_options=USAGE)
                async for _ in stream:
                    pass
            else:
                await aclient.chat.completions.create(model="gpt-4o-mini", messages=msgs,
                                                      user=f"call-{i}")
        except agentops.BudgetExceeded as exc:
            refused(exc)
            return
asyncio.run(main())
"""
    )
    result = run_agent(server, fake, body, init_kwargs="auto_start_session=False")
    assert provider_calls(fake, "/v1/chat/completions") == 3
    used = 3 * CHAT_TOKENS
    message = f"budget: max_tokens 4000 reached ({used} used)"
    assert result["refused"] == [
        {"limit": "max_tokens", "maximum": "4000", "used": str(used), "message": message}
    ]
    data = export(server, result["session_id"])
    assert data["session"]["end_state_reason"] == message
    llm, _ = refused_event(data)
    assert llm["params"]["user"] == "call-3"


def test_sync_streams_stop_at_max_tokens(server: ServerProcess, fake: FakeProviders) -> None:
    body = (
        OPENAI
        + """
for i in range(10):
    try:
        with client.chat.completions.stream(model="gpt-4o-mini", messages=msgs, user=f"s-{i}",
                                            stream_options=USAGE) as s:
            s.get_final_completion()
    except agentops.BudgetExceeded as exc:
        refused(exc)
        break
"""
    )
    result = run_agent(server, fake, body, init_kwargs=f"max_tokens={CHAT_TOKENS}")
    assert provider_calls(fake, "/v1/chat/completions") == 1
    (refusal,) = result["refused"]
    assert refusal["limit"] == "max_tokens" and refusal["used"] == str(CHAT_TOKENS)


MESSAGES = """
import anthropic
client = anthropic.Anthropic(base_url=FAKE, api_key="sk-ant-fake", max_retries=0)
msgs = [{"role": "user", "content": "Say hi"}]
M = "claude-3-5-sonnet-latest"
out["refused"] = []
"""


def test_anthropic_sync_streamed_and_async_calls_stop_at_max_cost_usd_of_start_trace(
    server: ServerProcess, fake: FakeProviders
) -> None:
    per_call = expected_cost(
        ANTH_MODEL,
        "anthropic",
        fp.ANTH_INPUT + fp.ANTH_CACHE_READ + fp.ANTH_CACHE_WRITE,
        fp.ANTH_OUTPUT,
        fp.ANTH_CACHE_READ,
        fp.ANTH_CACHE_WRITE,
    )
    limit = (per_call * Decimal("2.5")).quantize(Decimal("0.000001"))
    body = (
        MESSAGES
        + f"""
trace = agentops.start_trace("budgeted", max_cost_usd="{limit}")
session = trace.session

async def acall():
    aclient = anthropic.AsyncAnthropic(base_url=FAKE, api_key="sk-ant-fake", max_retries=0)
    stream = await aclient.messages.create(model=M, max_tokens=64, messages=msgs, stream=True)
    async for _ in stream:
        pass

for i in range(10):
    try:
        if i % 3 == 0:
            client.messages.create(model=M, max_tokens=64, messages=msgs)
        elif i % 3 == 1:
            with client.messages.stream(model=M, max_tokens=64, messages=msgs) as s:
                s.get_final_message()
        else:
            asyncio.run(acall())
    except agentops.BudgetExceeded as exc:
        out["refused"].append({{"limit": exc.limit, "maximum": str(exc.maximum),
                               "used": str(exc.used), "message": str(exc), "at": i}})
        break
"""
    )
    result = run_agent(server, fake, body, init_kwargs="auto_start_session=False")
    assert provider_calls(fake, "/v1/messages") == 3
    (refusal,) = result["refused"]
    assert refusal["limit"] == "max_cost_usd" and refusal["at"] == 3
    assert Decimal(refusal["maximum"]) == limit
    # the SDK counted genai-prices' price, the server's (stored rounded to the nano-dollar)
    assert abs(Decimal(refusal["used"]) - 3 * per_call) < Decimal("0.000000005")
    data = export(server, result["session_id"])
    reason = data["session"]["end_state_reason"]
    assert reason == refusal["message"]
    assert reason.startswith("budget: max_cost_usd 0.0") and reason.endswith(" used)")
    stored = sum((Decimal(e["cost"]) for e in data["llms"]), Decimal(0))
    assert stored == 3 * per_call


def test_a_handler_allows_one_more_call(server: ServerProcess, fake: FakeProviders) -> None:
    body = (
        OPENAI
        + """
asked = []
def one_more(exc):
    asked.append({"limit": exc.limit, "used": exc.used})
    return len(asked) == 1

session = agentops.start_session(max_llm_calls=2, on_budget_exceeded=one_more)
for i in range(10):
    try:
        client.chat.completions.create(model="gpt-4o-mini", messages=msgs, user=f"call-{i}")
    except agentops.BudgetExceeded as exc:
        refused(exc)
        break
out["asked"] = asked
"""
    )
    result = run_agent(server, fake, body, init_kwargs="auto_start_session=False")
    assert provider_calls(fake, "/v1/chat/completions") == 3
    assert result["asked"] == [
        {"limit": "max_llm_calls", "used": 2},
        {"limit": "max_llm_calls", "used": 3},
    ]
    (refusal,) = result["refused"]
    assert refusal["message"] == "budget: max_llm_calls 2 reached (3 used)"
    data = export(server, result["session_id"])
    assert data["session"]["end_state_reason"] == refusal["message"]
    assert len(data["llms"]) == 4 and len(data["errors"]) == 1


def test_environment_variables_set_the_limits_and_bad_values_are_named(
    server: ServerProcess, fake: FakeProviders
) -> None:
    before = """
os.environ["AGENTOPS_MAX_LLM_CALLS"] = "2"
os.environ["AGENTOPS_MAX_TOKENS"] = "plenty"
os.environ["AGENTOPS_MAX_COST_USD"] = "-1"
"""
    body = (
        OPENAI
        + """
for i in range(10):
    try:
        client.chat.completions.create(model="gpt-4o-mini", messages=msgs, user=f"call-{i}")
    except agentops.BudgetExceeded as exc:
        refused(exc)
        break
"""
    )
    result = run_agent(server, fake, body, before_init=before)
    assert provider_calls(fake, "/v1/chat/completions") == 2
    assert result["refused"][0]["limit"] == "max_llm_calls"
    stderr = result["stderr"]
    assert "AGENTOPS_MAX_TOKENS must be an integer, got 'plenty'" in stderr
    assert "AGENTOPS_MAX_COST_USD: max_cost_usd must be a number of US dollars >= 0" in stderr


def test_threads_and_asyncio_tasks_send_exactly_max_llm_calls(
    server: ServerProcess, fake: FakeProviders
) -> None:
    body = (
        OPENAI
        + """
from concurrent.futures import ThreadPoolExecutor

def call(i):
    try:
        client.chat.completions.create(model="gpt-4o-mini", messages=msgs, user=f"t-{i}")
        return "sent"
    except agentops.BudgetExceeded:
        return "refused"

threaded = agentops.start_session(max_llm_calls=5)
with ThreadPoolExecutor(max_workers=8) as pool:
    out["threads"] = sorted(pool.map(call, range(24)))
agentops.end_session("Success")
out["threaded_id"] = str(threaded.session_id)

session = agentops.start_session(max_llm_calls=4)

async def acall(i):
    try:
        await aclient.chat.completions.create(model="gpt-4o-mini", messages=msgs, user=f"a-{i}")
        return "sent"
    except agentops.BudgetExceeded:
        return "refused"

async def main():
    return sorted(await asyncio.gather(*(acall(i) for i in range(16))))
out["tasks"] = asyncio.run(main())
"""
    )
    result = run_agent(server, fake, body, init_kwargs="auto_start_session=False")
    assert result["threads"].count("sent") == 5 and result["threads"].count("refused") == 19
    assert result["tasks"].count("sent") == 4 and result["tasks"].count("refused") == 12
    assert provider_calls(fake, "/v1/chat/completions") == 9
    threaded = export(server, result["threaded_id"])
    assert threaded["session"]["end_state_reason"].startswith("budget: max_llm_calls 5 reached")
    assert len(threaded["llms"]) == 24 and len(threaded["errors"]) == 19


def test_without_genai_prices_the_cost_is_a_ceiling_never_below_the_price(
    server: ServerProcess, fake: FakeProviders
) -> None:
    before = """
sys.modules["genai_prices"] = None  # not installed: `import genai_prices` fails
"""
    body = (
        OPENAI
        + """
from agentops import _prices
out["source"] = _prices.source()
for i in range(10):
    try:
        client.chat.completions.create(model="gpt-4o-mini", messages=msgs, user=f"call-{i}")
    except agentops.BudgetExceeded as exc:
        refused(exc)
        break
"""
    )
    result = run_agent(server, fake, body, before_init=before, init_kwargs='max_cost_usd="0.01"')
    assert result["source"] == "ceiling"
    # gpt-4o-mini's ceiling: $1.25 per million prompt tokens, $12 per million completion ones
    per_call = (fp.CHAT_PROMPT * Decimal("1.25") + fp.CHAT_COMPLETION * 12) / 10**6
    assert provider_calls(fake, "/v1/chat/completions") == 2
    (refusal,) = result["refused"]
    assert Decimal(refusal["used"]) == 2 * per_call
    assert refusal["message"] == "budget: max_cost_usd 0.01 reached (0.0102 used)"
    data = export(server, result["session_id"])
    priced = [Decimal(e["cost"]) for e in data["llms"] if e["prompt_tokens"]]
    assert len(priced) == 2 and all(0 < cost < per_call for cost in priced)


def test_litellm_calls_stop_at_max_cost_usd(server: ServerProcess, fake: FakeProviders) -> None:
    per_call = expected_cost(
        "gpt-4o-mini-2024-07-18",
        "openai",
        fp.CHAT_PROMPT,
        fp.CHAT_COMPLETION,
        fp.CHAT_CACHED,
        None,
        0,
    )
    limit = (per_call * Decimal("1.5")).quantize(Decimal("0.000001"))
    body = """
import litellm
msgs = [{"role": "user", "content": "Say hi"}]
OPENAI = dict(api_base=FAKE + "/v1", api_key="sk-fake", max_retries=0, num_retries=0)
out["refused"] = []
for i in range(10):
    try:
        if i % 2:
            stream = litellm.completion(model="openai/gpt-4o-mini", messages=msgs,
                                        user=f"call-{i}", stream=True,
                                        stream_options={"include_usage": True}, **OPENAI)
            for _ in stream:
                pass
        else:
            litellm.completion(model="openai/gpt-4o-mini", messages=msgs, user=f"call-{i}",
                               **OPENAI)
    except agentops.BudgetExceeded as exc:
        out["refused"].append({"limit": exc.limit, "used": str(exc.used), "at": i})
        break
"""
    result = run_agent(server, fake, body, init_kwargs=f'max_cost_usd="{limit}"')
    assert provider_calls(fake, "/v1/chat/completions") == 2  # one plain, one streamed
    (refusal,) = result["refused"]
    assert (refusal["limit"], refusal["at"]) == ("max_cost_usd", 2)
    assert abs(Decimal(refusal["used"]) - 2 * per_call) < Decimal("0.000000005")
    data = export(server, result["session_id"])
    assert data["session"]["end_state_reason"].startswith("budget: max_cost_usd ")
