"""Prompt and completion of an LLM span as messages, across conventions, in the shape the v2
protocol stores (what agentops 0.3 and our SDK record of an OpenAI call).

Every family is normalised to `{"role", "content", ...}` messages: `content` is the text,
`tool_calls` a list in OpenAI's shape, `{"id", "type": "function", "function": {"name",
"arguments"}}` with `arguments` as JSON text, and parts that are not text or tool calls
(images, reasoning, blobs) stay in `parts`. Other message fields are kept as written. A
prompt is a list; a completion is one message for one choice, a list for several.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from agentops_server.ingest.otlp.conventions.indexed import Family, family_layout, fields_of
from agentops_server.ingest.otlp.conventions.values import decoded
from agentops_server.ingest.otlp.spans import AttrValue, Span
from agentops_server.storage.payload_content import completion_of

__all__ = ["io_value", "llm_messages", "structured_messages", "with_openai_tool_calls"]

_GENAI_PROMPT = "gen_ai.prompt."  # OpenLLMetry legacy and agentops: gen_ai.prompt.{i}.role ...
_GENAI_COMPLETION = "gen_ai.completion."
_OI_INPUT = "llm.input_messages."  # OpenInference: llm.input_messages.{i}.message.role ...
_OI_OUTPUT = "llm.output_messages."

Message = dict[str, AttrValue]


def llm_messages(span: Span) -> tuple[AttrValue, AttrValue]:
    """(prompt, completion): the first family present on the span, for each."""
    attrs = span.attributes
    families = family_layout(attrs)
    values = tuple(attrs.values()) if families else ()
    prompt = structured_messages(
        attrs.get("gen_ai.input.messages"), attrs.get("gen_ai.system_instructions")
    )
    if prompt is None:
        prompt = _indexed_messages(families.get(_GENAI_PROMPT), values)
    if prompt is None:
        prompt = _openinference_messages(families.get(_OI_INPUT), values)
    if prompt is None:
        prompt = _event_value(span, "gen_ai.content.prompt", "gen_ai.prompt")
    if prompt is None:
        prompt = io_value(attrs, "input")
    completion = structured_messages(attrs.get("gen_ai.output.messages"), None)
    if completion is None:
        completion = _indexed_messages(families.get(_GENAI_COMPLETION), values)
    if completion is None:
        completion = _openinference_messages(families.get(_OI_OUTPUT), values)
    if completion is None:
        completion = _event_value(span, "gen_ai.content.completion", "gen_ai.completion")
    if completion is None:
        completion = io_value(attrs, "output")
    return prompt, completion_of(completion)


def io_value(attrs: Mapping[str, AttrValue], direction: str) -> AttrValue:
    """OpenInference `input.value` / `output.value`, parsed when its mime type says JSON."""
    value = attrs.get(f"{direction}.value")
    if attrs.get(f"{direction}.mime_type") == "application/json":
        return decoded(value)
    return value


def _indexed_messages(
    family: Family | None, values: tuple[AttrValue, ...]
) -> list[AttrValue] | None:
    """gen_ai.prompt.{i}.role|content|tool_call_id and .tool_calls.{j}.id|name|arguments."""
    if not family:
        return None
    messages: list[AttrValue] = []
    for entry in family:
        if not entry[1]:  # no tool calls: every field as it is
            messages.append(fields_of(entry, values))
            continue
        message: Message = {}
        calls = _Numbered()
        for field, value in fields_of(entry, values).items():
            if field.startswith("tool_calls."):
                calls.put(field[11:], value)
            else:
                message[field] = value
        if calls:
            message["tool_calls"] = _openai_tool_calls(calls.as_list())
        messages.append(message)
    return messages


def _openinference_messages(
    family: Family | None, values: tuple[AttrValue, ...]
) -> list[AttrValue] | None:
    """llm.*_messages.{i}.message.role|content, .tool_calls.{j}.tool_call.*, .contents.{j}.*"""
    if not family:
        return None
    messages: list[AttrValue] = []
    for entry in family:
        message: Message = {}
        calls = _Numbered()
        contents = _Numbered()
        for field, value in fields_of(entry, values).items():
            name = field.removeprefix("message.")
            if name.startswith("tool_calls."):
                calls.put(name[11:], value, strip=("tool_call.", "function."))
            elif name.startswith("contents."):
                contents.put(name[9:], value, strip=("message_content.",))
            else:
                message[name] = value
        if calls:
            message["tool_calls"] = _openai_tool_calls(calls.as_list())
        if contents:
            parts: list[AttrValue] = []
            for part in contents.as_messages():
                if "text" in part:
                    part["content"] = part.pop("text")
                if "image.image.url" in part:
                    part["url"] = part.pop("image.image.url")
                parts.append(part)
            message.update(_from_parts(parts, keep_content=message.get("content")))
        messages.append(message)
    return messages


def structured_messages(messages: AttrValue, system: AttrValue) -> AttrValue:
    """GenAI semconv gen_ai.input/output.messages (+ system instructions), JSON or structured,
    as `{"role", "content", ...}` messages (spans' attributes and log records' alike)."""
    if messages is None and system is None:
        return None
    parsed = decoded(messages)
    if parsed is not None and not isinstance(parsed, list):
        return parsed  # not the parts schema: keep what was sent
    out: list[AttrValue] = []
    system = decoded(system)
    if isinstance(system, list):
        out.append({"role": "system", **_from_parts(system, keep_content=None)})
    elif system is not None:
        out.append({"role": "system", "content": system})
    for message in parsed or ():
        if isinstance(message, dict) and isinstance(parts := message.get("parts"), list):
            rest = {key: value for key, value in message.items() if key != "parts"}
            out.append({**rest, **_from_parts(parts, keep_content=rest.get("content"))})
        elif isinstance(message, dict):
            out.append(with_openai_tool_calls(message))
        else:
            out.append(message)
    return out


def with_openai_tool_calls(message: Message) -> Message:
    """The message with its `tool_calls` (if any) in OpenAI's shape (see _openai_tool_call)."""
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        return {**message, "tool_calls": _openai_tool_calls(calls)}
    return message


def _openai_tool_calls(calls: list[AttrValue]) -> list[AttrValue]:
    return [_openai_tool_call(call) if isinstance(call, dict) else call for call in calls]


def _openai_tool_call(call: dict[str, AttrValue]) -> dict[str, AttrValue]:
    """`{"id", "type": "function", "function": {"name", "arguments"}}` from OpenAI's shape or
    from `{"id", "name", "arguments"}` (the GenAI parts schema, the indexed families, and
    OpenInference's once its prefixes are cut); `arguments` as JSON text, other fields kept."""
    function = call.get("function")
    if isinstance(function, dict):
        named = function
        rest = {k: v for k, v in call.items() if k not in ("id", "type", "function")}
    else:
        named = call
        rest = {k: v for k, v in call.items() if k not in ("id", "type", "name", "arguments")}
    arguments = named.get("arguments")
    if arguments is not None and not isinstance(arguments, str):
        arguments = json.dumps(arguments, ensure_ascii=False)
    return {
        "id": call.get("id"),
        "type": call.get("type") or "function",
        "function": {"name": named.get("name"), "arguments": arguments},
        **rest,
    }


def _from_parts(parts: list[AttrValue], keep_content: AttrValue) -> Message:
    """content / tool_calls / tool_call_id / parts from a parts list (GenAI message schema)."""
    texts: list[str] = []
    calls: list[AttrValue] = []
    others: list[AttrValue] = []
    out: Message = {}
    for part in parts:
        if not isinstance(part, dict):
            others.append(part)
            continue
        kind = part.get("type", "text")
        content = part.get("content")
        if kind == "text" and isinstance(content, str):
            texts.append(content)
        elif kind == "tool_call":
            calls.append(_openai_tool_call({k: part.get(k) for k in ("id", "name", "arguments")}))
        elif kind == "tool_call_response":
            out["tool_call_id"] = part.get("id")
            out["content"] = part["response"] if "response" in part else part.get("result")
        else:
            others.append(part)
    if keep_content is not None:
        out["content"] = keep_content
    elif texts and "content" not in out:
        out["content"] = "\n".join(texts)
    if calls:
        out["tool_calls"] = calls
    if others:
        out["parts"] = others
    return out


def _event_value(span: Span, event_name: str, key: str) -> AttrValue:
    """Older semconv: span events gen_ai.content.prompt/completion with a JSON attribute."""
    for event in span.events:
        if event.name == event_name and key in event.attributes:
            return decoded(event.attributes[key])
    return None


class _Numbered:
    """Collects "{j}.{field}" keys into a list of dicts ordered by j."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: dict[int, Message] = {}

    def __bool__(self) -> bool:
        return bool(self._items)

    def put(self, rest: str, value: AttrValue, strip: tuple[str, ...] = ()) -> None:
        index, _, field = rest.partition(".")
        if not (field and index.isascii() and index.isdigit()):
            return
        for prefix in strip:
            field = field.removeprefix(prefix)
        self._items.setdefault(int(index), {})[field] = value

    def as_messages(self) -> list[Message]:
        return [self._items[j] for j in sorted(self._items)]

    def as_list(self) -> list[AttrValue]:
        return [self._items[j] for j in sorted(self._items)]
