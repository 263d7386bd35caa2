"""The span attributes an event's payload keeps: all but those lifted into the event.

Spans of one instrumentation carry the same keys in the same order, so the keys to keep are
worked out once per key sequence (one tuple look-up per span instead of one per attribute).
"""

from __future__ import annotations

from typing import Any

from agentops_server.remembered import Remembered

__all__ = ["kept_attributes"]

LIFTED_PREFIXES = (
    "gen_ai.prompt.",
    "gen_ai.completion.",
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "llm.input_messages.",
    "llm.output_messages.",
    "input.value",
    "output.value",
    "agentops.",
    "traceloop.entity.input",
    "traceloop.entity.output",
    "gen_ai.usage.",
    "llm.token_count.",
    "gen_ai.response.model",
    "gen_ai.response.id",
    "operation.name",
)
"""Attributes already lifted into the event (prompt, completion, params, returns, tokens,
model, name): not kept twice."""
DROPPED_PREFIXES = ("retrieval.documents.",)
"""Not kept at all (docs/otel-mapping.md): OpenInference's retrieved documents."""
EMBEDDING = ("embedding.embeddings.", ".embedding.vector")
"""OpenInference's embedding vectors (embedding.embeddings.{i}.embedding.vector): thousands of
numbers per input, not kept; the embedded text is."""
_MAX_SHAPES = 10_000
"""Key sequences remembered at most (cleared when full: keys made of ids vary without bound)."""
_KEPT_BY_SHAPE: Remembered[tuple[str, ...], tuple[str, ...]] = Remembered(_MAX_SHAPES)


def kept_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """A new dict, in the attributes' order."""
    shape = tuple(attributes)
    kept = _KEPT_BY_SHAPE.get(shape)
    if kept is None:
        kept = _kept_keys(shape)
    if len(kept) == len(shape):
        return dict(attributes)
    return {key: attributes[key] for key in kept}


def _kept_keys(shape: tuple[str, ...]) -> tuple[str, ...]:
    kept = tuple(key for key in shape if _kept(key))
    return _KEPT_BY_SHAPE.keep(shape, kept)


def _kept(key: str) -> bool:
    if key.startswith(LIFTED_PREFIXES) or key.startswith(DROPPED_PREFIXES):
        return False
    return not (key.startswith(EMBEDDING[0]) and key.endswith(EMBEDDING[1]))
