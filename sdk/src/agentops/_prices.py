"""What an answered LLM call cost, as the SDK counts it for `max_cost_usd` (agentops._budget).

With genai-prices importable (`pip install 'agentops[prices]'`) the price is genai-prices',
the table the server prices events with. Without it, or for a model genai-prices does not
know, it is an estimate that is never lower than the real price: every prompt token at the
highest input-side price (input, cache read or cache write, any tier) and every completion
token at the highest output price of the model's family in CEILINGS, or of any model known
(o1-pro) when the family is not listed. tests/sdk/test_prices.py checks CEILINGS against
genai-prices' table.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from agentops._errors import logger

MILLION: Final = Decimal(1_000_000)

# Model-name prefix -> (prompt, completion) USD per million tokens: the highest prices of the
# models whose name starts with it (longest prefix wins). Unlisted models: DEFAULT_CEILING.
CEILINGS: Final[dict[str, tuple[Decimal, Decimal]]] = {
    "gpt-3.5": (Decimal(3), Decimal(4)),
    "gpt-4": (Decimal(75), Decimal(150)),
    "gpt-4o": (Decimal(6), Decimal(20)),
    "gpt-4o-mini": (Decimal("1.25"), Decimal(12)),
    "gpt-4.1": (Decimal(2), Decimal(8)),
    "gpt-4.1-mini": (Decimal("0.4"), Decimal("1.6")),
    "gpt-4.1-nano": (Decimal("0.1"), Decimal("0.4")),
    "gpt-5": (Decimal(60), Decimal(270)),
    "gpt-5-mini": (Decimal("0.25"), Decimal(2)),
    "gpt-5-nano": (Decimal("0.05"), Decimal("0.4")),
    "o1": (Decimal(150), Decimal(600)),
    "o3": (Decimal(20), Decimal(80)),
    "o4-mini": (Decimal(2), Decimal(8)),
    "text-embedding": (Decimal("0.13"), Decimal(0)),
    "claude-3-haiku": (Decimal("0.3"), Decimal("1.25")),
    "claude-3-sonnet": (Decimal("3.75"), Decimal(15)),
    "claude-3-opus": (Decimal("18.75"), Decimal(75)),
    "claude-3-5-haiku": (Decimal(1), Decimal(4)),
    "claude-3-5-sonnet": (Decimal("3.75"), Decimal(15)),
    "claude-3-7-sonnet": (Decimal("3.75"), Decimal(15)),
    "claude-haiku-4": (Decimal("1.25"), Decimal(5)),
    "claude-sonnet-4": (Decimal("7.5"), Decimal("22.5")),
    "claude-opus-4": (Decimal("18.75"), Decimal(75)),
}
DEFAULT_CEILING: Final = (Decimal(150), Decimal(600))

_genai: dict[str, Any] = {}  # "module": genai_prices, or None once it failed to import


def _genai_prices() -> Any:
    if "module" not in _genai:
        module: Any = None
        try:
            import genai_prices as module
        except ImportError:
            pass
        _genai["module"] = module
    return _genai["module"]


def source() -> str:
    """Which prices cost_of() uses: "genai-prices" or "ceiling"."""
    return "genai-prices" if _genai_prices() is not None else "ceiling"


def ceiling(model: str | None) -> tuple[Decimal, Decimal]:
    """The (prompt, completion) USD per million tokens never exceeded by `model`."""
    name = (model or "").strip().lower().rsplit("/", 1)[-1]  # "openai/gpt-4o" (litellm)
    best = ""
    for prefix in CEILINGS:
        if name.startswith(prefix) and len(prefix) > len(best):
            best = prefix
    return CEILINGS[best] if best else DEFAULT_CEILING


def ceiling_cost(model: str | None, prompt_tokens: int, completion_tokens: int) -> Decimal:
    prompt_price, completion_price = ceiling(model)
    return (prompt_tokens * prompt_price + completion_tokens * completion_price) / MILLION


def cost_of(
    model: str | None,
    provider: str | None,
    prompt_tokens: int,
    completion_tokens: int,
    cache_read_tokens: int | None = None,
    cache_write_tokens: int | None = None,
) -> Decimal:
    """USD for one answered call: genai-prices' price, else the ceiling estimate."""
    genai = _genai_prices()
    if genai is not None and model:
        price = _genai_price(
            genai,
            model,
            provider,
            prompt_tokens,
            completion_tokens,
            cache_read_tokens,
            cache_write_tokens,
        )
        if price is not None:
            return price
    return ceiling_cost(model, prompt_tokens, completion_tokens)


def _genai_price(
    genai: Any,
    model: str,
    provider: str | None,
    prompt_tokens: int,
    completion_tokens: int,
    cache_read_tokens: int | None,
    cache_write_tokens: int | None,
) -> Decimal | None:
    values = {"input_tokens": prompt_tokens, "output_tokens": completion_tokens}
    if cache_read_tokens is not None:
        values["cache_read_tokens"] = cache_read_tokens
    if cache_write_tokens is not None:
        values["cache_write_tokens"] = cache_write_tokens
    now = datetime.now(UTC)
    # as the server looks models up: the provider given, any provider, "openai/gpt-4o"'s prefix
    attempts: list[tuple[str, str | None]] = [(model, provider)] if provider else []
    attempts.append((model, None))
    if "/" in model:
        prefix, rest = model.split("/", 1)
        attempts.append((rest, prefix))
    for name, provider_id in attempts:
        try:
            found = genai.calc_price(
                genai.Usage(**values), name, provider_id=provider_id, genai_request_timestamp=now
            )
        except LookupError:
            continue
        except Exception as exc:  # a usage genai-prices refuses: the ceiling, never raised
            logger.debug("genai-prices could not price %s: %r", model, exc)
            return None
        return Decimal(found.total_price)
    return None
