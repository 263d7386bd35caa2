"""Server-side pricing of LLM events: genai-prices plus per-project overrides."""

from agentops_server.pricing.catalog import Catalog, InvalidUsage, ModelMatch, load_price_table
from agentops_server.pricing.pricer import ModelPrices, Price, Pricer, TokenUsage

__all__ = [
    "Catalog",
    "InvalidUsage",
    "ModelMatch",
    "ModelPrices",
    "Price",
    "Pricer",
    "TokenUsage",
    "load_price_table",
]
