"""A session's recorded LLM calls as the agentops 0.3 client's time-travel "completion overrides".

0.3.26 (`agentops.time_travel.fetch_time_travel_id`) reads a JSON list of
`{"prompt": {"type": "chatml", "messages": [...]}, "returns": "<completion JSON text>"}` and,
while time travel is on, answers a chat call whose messages have the same contents with
`returns` parsed as the provider's response (openai `ChatCompletion`, anthropic `Message`)
instead of calling the provider. Only calls recorded with chat messages as the prompt can ever
match, so other LLM events are left out. `returns` is the response the client recorded when it
is a whole provider response (0.3.26's anthropic integration sends one), else one rebuilt from
the recorded completion, model and token counts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from agentops_server.queries import wrap_message
from agentops_server.storage.records import Event
from agentops_server.timestamps import iso


def replay_items(events: Iterable[Event]) -> Iterator[dict[str, Any]]:
    """One override per LLM event that has chat messages as its prompt and a completion."""
    for event in events:
        prompt = wrap_message(event.payload.get("prompt"))
        completion = event.payload.get("completion")
        if prompt is None or prompt["type"] != "chatml" or completion in (None, ""):
            continue
        if not isinstance(prompt["messages"], list):
            continue
        yield {
            "prompt": prompt,
            "returns": json.dumps(_response(event, completion), ensure_ascii=False),
            "completion": wrap_message(completion),
            "model": event.model,
            "llm_id": event.id,
            "session_id": event.session_id,
            "init_timestamp": iso(event.init_timestamp),
        }


def _response(event: Event, completion: Any) -> dict[str, Any]:
    recorded = event.payload.get("returns")
    if isinstance(recorded, dict) and (
        isinstance(recorded.get("choices"), list) or recorded.get("type") == "message"
    ):
        return recorded
    if _is_anthropic(event):
        return _anthropic_message(event, completion)
    return _chat_completion(event, completion)


def _is_anthropic(event: Event) -> bool:
    return event.provider == "anthropic" or (event.model or "").startswith("claude")


def _text(completion: Any) -> Any:
    """The content of an assistant message, or the completion itself as text."""
    if isinstance(completion, dict) and "content" in completion:
        return completion["content"]
    return completion if isinstance(completion, str) else json.dumps(completion)


def _chat_completion(event: Event, completion: Any) -> dict[str, Any]:
    """An OpenAI chat completion (also what litellm, groq and our SDK's openai calls return)."""
    if isinstance(completion, dict) and completion.get("role") == "assistant":
        message = dict(completion)
    else:
        message = {"role": "assistant", "content": _text(completion)}
    if not isinstance(message.get("content"), str | None):
        message["content"] = json.dumps(message["content"])
    usage = None
    if event.prompt_tokens is not None and event.completion_tokens is not None:
        usage = {
            "prompt_tokens": event.prompt_tokens,
            "completion_tokens": event.completion_tokens,
            "total_tokens": event.prompt_tokens + event.completion_tokens,
        }
    return {
        "id": f"chatcmpl-{event.id}",
        "object": "chat.completion",
        "created": int(event.init_timestamp.timestamp()),
        "model": event.model or "unknown",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}],
        "usage": usage,
    }


def _anthropic_message(event: Event, completion: Any) -> dict[str, Any]:
    content = _text(completion)
    if isinstance(content, list) and all(isinstance(b, dict) and "type" in b for b in content):
        blocks = content
    else:
        text = content if isinstance(content, str) else json.dumps(content)
        blocks = [{"type": "text", "text": text}]
    return {
        "id": f"msg_{event.id}",
        "type": "message",
        "role": "assistant",
        "model": event.model or "unknown",
        "content": blocks,
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": event.prompt_tokens or 0,
            "output_tokens": event.completion_tokens or 0,
        },
    }
