"""Where the indexed message families sit among a span's attributes, per key sequence.

`gen_ai.prompt.{i}.{field}` (OpenLLMetry legacy, agentops) and `llm.input_messages.{i}.{field}`
(OpenInference) spread each message over several keys. Spans of one instrumentation carry the
same keys in the same order, so which attribute (by position) is which field of which message
is worked out once per key sequence; a span then only picks its values by position.
"""

from __future__ import annotations

from collections.abc import Mapping

from agentops_server.ingest.otlp.spans import AttrValue
from agentops_server.remembered import Remembered

__all__ = ["FAMILIES", "Entry", "Family", "family_layout", "fields_of"]

FAMILIES = ("gen_ai.prompt.", "gen_ai.completion.", "llm.input_messages.", "llm.output_messages.")
Entry = tuple[tuple[tuple[str, int], ...], bool]
"""One message: (field, attribute position) pairs in key order, and whether any field is a
`tool_calls.*` one. The last key of a repeated field wins, at the place of its first."""
Family = tuple[Entry, ...]
"""A family's messages in index order."""
Fields = dict[str, AttrValue]

_MAX_SHAPES = 4_096
"""Key sequences remembered at most (cleared when full: keys made of ids vary without bound)."""
_LAYOUTS: Remembered[tuple[str, ...], dict[str, Family]] = Remembered(_MAX_SHAPES)


def family_layout(attrs: Mapping[str, AttrValue]) -> dict[str, Family]:
    """{prefix: messages} for the families present (do not modify: shared by spans)."""
    shape = tuple(attrs)
    layout = _LAYOUTS.get(shape)
    if layout is None:
        layout = _LAYOUTS.keep(shape, _layout(shape))
    return layout


def fields_of(entry: Entry, values: tuple[AttrValue, ...]) -> Fields:
    """One message's {field: value} from the span's attribute values in key order."""
    return {field: values[position] for field, position in entry[0]}


def _layout(shape: tuple[str, ...]) -> dict[str, Family]:
    found: dict[str, dict[int, dict[str, int]]] = {}
    for position, key in enumerate(shape):
        parsed = _family_key(key)
        if parsed is not None:
            prefix, index, field = parsed
            found.setdefault(prefix, {}).setdefault(index, {})[field] = position
    return {
        prefix: tuple(
            (
                tuple(fields.items()),
                any(field.startswith("tool_calls.") for field in fields),
            )
            for _, fields in sorted(entries.items())
        )
        for prefix, entries in found.items()
    }


def _family_key(key: str) -> tuple[str, int, str] | None:
    """("gen_ai.prompt.", 0, "role") from "gen_ai.prompt.0.role"; None for other keys."""
    for prefix in FAMILIES:
        if key.startswith(prefix):
            index, _, field = key[len(prefix) :].partition(".")
            if field and index.isascii() and index.isdigit():
                return prefix, int(index), field
            return None
    return None
