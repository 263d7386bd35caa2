"""Server-side pricing of LLM events."""

from agentops_server.pricing.pricer import Price, Pricer, TokenUsage

__all__ = ["Price", "Pricer", "TokenUsage"]
