"""Spans of one trace -> the session and the events our model stores.

One trace is one session (its id is the trace id as a UUID). The root span gives the session's
start, end, name and end state; every other span is one event whose id is its span id and
whose parent_id is its parent span's (None when the parent is the root). Spans arrive children
first over many requests, so what a batch cannot see (its parents' agents, its children's
errors and LLM calls) is looked up in the store by the caller and passed in as `Stored`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from agentops_server.ingest.otlp.conventions.facts import SpanFacts
from agentops_server.ingest.otlp.kept_attributes import kept_attributes
from agentops_server.ingest.otlp.one_call import (
    CallUsage,
    fill_for,
    price_call,
    same_call,
    same_stored_call,
    usage_of,
)
from agentops_server.ingest.otlp.spans import Span
from agentops_server.ingest.otlp.times import to_time
from agentops_server.ingest.v2 import MAX_COST_USD
from agentops_server.pricing import Pricer
from agentops_server.pricing.nanos import finite_usd_to_nanos
from agentops_server.storage.index_keys import index_key, optional_index_key
from agentops_server.storage.records import (
    CostSource,
    Event,
    EventWrite,
    Session,
    SessionWrite,
    UsageFill,
)

_EVENT_TYPES = {"llm": "llms", "tool": "tools", "agent": "actions", "session": "actions"}
_EVENT_ROOT_KINDS = frozenset({"llm", "tool", "agent"})
_KIND_NAMES = ("unspecified", "internal", "server", "client", "producer", "consumer")
_STATUS_NAMES = ("UNSET", "OK", "ERROR")
_HOST_PREFIXES = ("host.", "os.", "process.runtime.", "service.", "telemetry.sdk.")
ERROR_SUFFIX = "-error"


def session_id_of(trace_id: str) -> str:
    """A trace's session: the same 128 bits as a UUID."""
    return str(uuid.UUID(hex=trace_id))


@dataclass(slots=True)  # not frozen: frozen costs ~0.3 us per span, built for every span
class Item:
    """A span with what its convention says it means."""

    span: Span
    facts: SpanFacts


def find_root(items: Sequence[Item]) -> Item | None:
    return next((item for item in items if item.span.parent_span_id is None), None)


def is_event_root(root: Item) -> bool:
    """A root that is an LLM call, a tool or an agent is an event too, besides the session:
    a call made outside any trace (agentops' `auto_start_session=False`, a GenAI
    instrumentation with no span around its calls, work handed to a thread pool, which OTel
    context does not follow) would otherwise lose its tokens, cost or agent. Its children
    nest under it."""
    return root.facts.kind in _EVENT_ROOT_KINDS


def session_write(
    trace_id: str, items: Sequence[Item], project_id: str, root: Item | None
) -> SessionWrite:
    """What this batch of the trace's spans (whose root is `find_root(items)`) says about the
    session."""
    tags: dict[str, None] = {}
    metadata: dict[str, Any] = {}
    host_env: dict[str, Any] | None = None
    for item in items:
        facts = item.facts
        if facts.tags:
            tags.update(dict.fromkeys(index_key(tag) for tag in facts.tags))
        if facts.metadata and (facts.kind == "session" or facts.convention != "agentops"):
            metadata.update(facts.metadata)  # agentops keeps a run's metadata on session spans
        if host_env is None and facts.host_env:
            host_env = dict(facts.host_env)
    common: dict[str, Any] = {
        "id": session_id_of(trace_id),
        "project_id": project_id,
        "tags": list(tags) or None,
        "metadata": metadata or None,
    }
    if root is None:
        start = min(item.span.start_ns for item in items)
        return SessionWrite(init_timestamp=to_time(start), host_env=host_env, **common)
    span, facts = root.span, root.facts
    if root.facts.metadata:
        metadata.update(root.facts.metadata)  # the root's word wins over its children's
    if host_env is None and facts.convention != "agentops":
        host_env = _resource_env(span.resource)
    end_state, reason = _end_of(root)
    return SessionWrite(
        init_timestamp=to_time(span.start_ns),
        end_timestamp=to_time(max(span.end_ns, span.start_ns)),
        end_state=end_state,
        end_state_reason=reason,
        host_env=host_env,
        name=facts.name or span.name,
        # a root that is an event is not the session's span: its children stay under it
        root_span_id=None if is_event_root(root) else span.span_id,
        **common,
    )


def _end_of(root: Item) -> tuple[str, str | None]:
    """agentops session spans say it in `agentops.session.end_state` (absent: Indeterminate,
    the 0.4 client drops enum end states); other roots, agentops' decorated functions and
    calls outside a session included, by their status (UNSET counts as done)."""
    facts, span = root.facts, root.span
    if facts.end_state is not None:
        state = facts.end_state
    elif facts.convention == "agentops" and facts.kind == "session":
        state = "Indeterminate"
    else:
        state = "Fail" if span.status_code == 2 else "Success"
    reason = facts.end_reason
    if reason is None and state == "Fail":
        if span.status_message:
            reason = span.status_message
        elif facts.error is not None:
            reason = f"{facts.error.type}: {facts.error.message}"
    return state, reason


def _resource_env(resource: dict[str, Any]) -> dict[str, Any] | None:
    env = {k: v for k, v in resource.items() if k.startswith(_HOST_PREFIXES)}
    return env or None


@dataclass(slots=True)
class Stored:
    """What the store holds that this batch needs: events named as parents of the batch's
    spans (and their error events, under `<id>-error`), and the stored children of the
    batch's LLM and failed spans."""

    parents: dict[str, Event] = field(default_factory=dict)
    children: dict[str, list[Event]] = field(default_factory=dict)


def lookups(items: Sequence[Item], session: Session) -> tuple[list[str], list[str]]:
    """The parent ids to fetch (outside the batch, not the root; and an LLM span's parent in
    the batch that is an LLM span too: re-sent, it may hold the call already) and the span ids
    whose stored children matter (LLM spans, for stacked instrumentations; failed spans, for
    errors)."""
    ids = {item.span.span_id for item in items}
    llms = {item.span.span_id for item in items if item.facts.kind == "llm"}
    parents = {
        parent
        for item in items
        if (parent := item.span.parent_span_id) is not None
        and parent != session.root_span_id
        and (parent not in ids or (parent in llms and item.facts.kind == "llm"))
    }
    watched = [
        item.span.span_id
        for item in items
        if item.facts.kind == "llm" or item.facts.error is not None
    ]
    # a parent's error event too: a failed span that comes after its failed parent leaves
    # the exception to the error the parent already holds (one error per exception)
    fetched = sorted(p for p in parents if p is not None)
    return fetched + [p + ERROR_SUFFIX for p in fetched], watched


@dataclass(slots=True)
class TraceEvents:
    events: list[EventWrite]
    agents: list[tuple[str, str]]  # (agent event id, name)
    inherited: list[tuple[str, str]]  # (event id, agent id): an agent taken from a stored parent
    fills: list[UsageFill]  # token kinds of a stored LLM call that only this batch reported


class Assembler:
    """Builds the events of one batch of one trace's spans (the root excluded, unless
    is_event_root)."""

    def __init__(
        self,
        session: Session,
        items: Sequence[Item],
        root: Item | None,
        stored: Stored,
        pricer: Pricer,
    ) -> None:
        """`root` is `find_root(items)`."""
        self._session = session
        self._pricer = pricer
        self._stored = stored
        # spans directly under a root that is only the session are directly under the session;
        # a root that is an event keeps its children (and no root_span_id is stored for it)
        root_is_event = root is not None and is_event_root(root)
        root_id = session.root_span_id or (root.span.span_id if root else None)
        self._root_id = None if root_is_event else root_id
        self._items = [item for item in items if item is not root or root_is_event]
        self._by_id = {item.span.span_id: item for item in self._items}
        self._children: dict[str, list[Item]] = {}
        for item in self._items:
            parent = item.span.parent_span_id
            if parent is not None:
                self._children.setdefault(parent, []).append(item)
        self._agents: dict[str, str | None] = {}
        self._wraps: dict[str, str | None] = {}  # span id -> _wrapped_llm's answer
        self._fills: list[UsageFill] = []

    def build(self) -> TraceEvents:
        events: list[EventWrite] = []
        agents: list[tuple[str, str]] = []
        inherited: list[tuple[str, str]] = []
        for item in self._items:
            event = self._event(item)
            events.append(event)
            if item.facts.kind == "agent":
                name = item.facts.agent_name or item.facts.name
                agents.append((item.span.span_id, index_key(name)))
            elif event.agent_id is not None and event.parent_id in self._stored.parents:
                # its agent came from a stored parent: spans stored below it before it came
                # have none yet (children come first), and get this one after the write
                inherited.append((event.id, event.agent_id))
            error = self._error_event(item, event)
            if error is not None:
                events.append(error)
        return TraceEvents(events, agents, inherited, self._fills)

    # --- tree ----------------------------------------------------------------------------------
    def _parent_id(self, span: Span) -> str | None:
        parent = span.parent_span_id
        return None if parent is None or parent == self._root_id else parent

    def _agent_of(self, item: Item) -> str | None:
        """The nearest agent at or above the span: in the batch, else the stored parent's."""
        span_id = item.span.span_id
        if span_id in self._agents:
            return self._agents[span_id]
        chain: list[str] = []
        agent: str | None = None
        current: Item | None = item
        while current is not None:
            sid = current.span.span_id
            if sid in self._agents:
                agent = self._agents[sid]
                break
            chain.append(sid)
            if current.facts.kind == "agent":
                agent = sid
                break
            parent = self._parent_id(current.span)
            if parent is None or parent in chain:  # a cycle of parents names no agent
                break
            current = self._by_id.get(parent)
            if current is None:
                stored = self._stored.parents.get(parent)
                agent = stored.agent_id if stored is not None else None
        for sid in chain:
            self._agents[sid] = agent
        return agent

    def _wrapped_llm(self, item: Item) -> str | None:
        """The id of an LLM child that is this very call (two instrumentations wrapping one
        client call): same response id, or same model and token counts."""
        span_id = item.span.span_id
        if span_id not in self._wraps:
            self._wraps[span_id] = self._find_wrapped_llm(item)
        return self._wraps[span_id]

    def _find_wrapped_llm(self, item: Item) -> str | None:
        facts = item.facts
        for child in self._children.get(item.span.span_id, ()):
            if child.facts.kind == "llm" and same_call(facts, child.facts):
                return child.span.span_id
        for stored in self._stored.children.get(item.span.span_id, ()):
            if stored.event_type == "llms" and same_stored_call(facts, stored):
                return stored.id
        return None

    def _wrapping_llm(self, item: Item) -> str | None:
        """The id of a stored LLM parent that is this very call: the outer span of two
        instrumentations arrived first and holds the tokens, so this one must not."""
        parent = item.span.parent_span_id
        stored = self._stored.parents.get(parent) if parent is not None else None
        if stored is not None and stored.event_type == "llms":
            if same_stored_call(item.facts, stored):
                return stored.id
        return None

    # --- one call seen by several instrumentations (ingest/otlp/one_call.py) -----------------
    def _call_usage(self, item: Item) -> CallUsage:
        """The call's usage: the span's own figures, each missing one taken from the spans in
        the batch that wrap it as the same call, the nearest first."""
        usage = usage_of(item.facts)
        current, seen = item, {item.span.span_id}
        while (parent_id := current.span.parent_span_id) is not None and parent_id not in seen:
            parent = self._by_id.get(parent_id)
            if parent is None or parent.facts.kind != "llm":
                break
            if self._wrapped_llm(parent) != current.span.span_id:
                break
            usage = usage.over(usage_of(parent.facts))
            current = parent
            seen.add(parent_id)
        return _embedding_output(usage, item.span)

    def _fill(self, stored: Event, other: CallUsage, other_is_inner: bool) -> None:
        fill = fill_for(stored, other, other_is_inner, self._pricer, self._session.project_id)
        if fill is not None:
            self._fills.append(fill)

    # --- events --------------------------------------------------------------------------------
    def _event(self, item: Item) -> EventWrite:
        span, facts = item.span, item.facts
        kind = facts.kind
        wraps = wrapped_by = None
        if kind == "llm":
            wraps = self._wrapped_llm(item)
            wrapped_by = None if wraps else self._wrapping_llm(item)
            if wraps is not None:  # an inner span holds the call: if stored, it may lack ours
                stored = self._stored.children.get(span.span_id, ())
                inner = next((e for e in stored if e.id == wraps), None)
                if inner is not None:
                    self._fill(inner, self._call_usage(item), other_is_inner=False)
            elif wrapped_by is not None:  # the stored outer span holds the call
                own = _embedding_output(usage_of(facts), span)
                self._fill(self._stored.parents[wrapped_by], own, other_is_inner=True)
        event_type = "actions" if wraps or wrapped_by else _EVENT_TYPES.get(kind, "actions")
        start_ns, end_ns = span.start_ns, span.end_ns
        start = to_time(start_ns)
        payload = _payload(span, facts)
        model = provider = None
        prompt = completion = cache_read = cache_write = reasoning = None
        cost_nanos: int | None = None
        source = CostSource.NONE
        if event_type == "llms":
            model, provider = optional_index_key(facts.model), facts.provider
            usage = self._call_usage(item)
            prompt, completion = usage.input_tokens, usage.output_tokens
            cache_read = usage.cache_read_tokens
            cache_write = usage.cache_write_tokens
            reasoning = usage.reasoning_tokens
            cost_nanos, source = price_call(
                self._pricer, self._session.project_id, model, provider, usage, start
            )
            payload["prompt"] = facts.prompt
            payload["completion"] = facts.completion
        elif (  # not an LLM span stored as an action: the call it wraps holds its cost
            kind != "llm"
            and facts.reported_cost is not None
            and 0 <= facts.reported_cost <= MAX_COST_USD
        ):
            cost_nanos, source = finite_usd_to_nanos(facts.reported_cost), CostSource.REPORTED
        if wraps:
            payload["wraps_llm_event"] = wraps
        elif wrapped_by:
            payload["wrapped_by_llm_event"] = wrapped_by
        span_id = span.span_id
        parent = span.parent_span_id
        return EventWrite(
            id=span_id,
            session_id=self._session.id,
            event_type=event_type,
            init_timestamp=start,
            end_timestamp=to_time(end_ns) if end_ns > start_ns else start,
            agent_id=span_id if kind == "agent" else self._agent_of(item),
            name=(model or facts.name) if event_type == "llms" else facts.name or span.name,
            model=model,
            provider=provider,
            prompt_tokens=prompt,
            completion_tokens=completion,
            cache_read_tokens=cache_read,
            cache_write_tokens=cache_write,
            reasoning_tokens=reasoning,
            cost_nanos=cost_nanos,
            cost_source=source,
            payload=payload,
            parent_id=None if parent is None or parent == self._root_id else parent,
        )

    def _error_event(self, item: Item, event: EventWrite) -> EventWrite | None:
        """One error per exception, at the deepest span it passed through: a span whose child
        failed with the same exception leaves the error to that child."""
        error = item.facts.error
        if error is None or item.span.status_code != 2:
            return None
        mark = (error.type, error.message)
        for child in self._children.get(item.span.span_id, ()):
            e = child.facts.error
            if e is not None and child.span.status_code == 2 and (e.type, e.message) == mark:
                return None
        for stored in self._stored.children.get(item.span.span_id, ()):
            failure = stored.payload.get("error")
            if isinstance(failure, dict) and (failure.get("type"), failure.get("message")) == mark:
                return None
        parent = item.span.parent_span_id
        held = self._stored.parents.get(parent + ERROR_SUFFIX) if parent is not None else None
        if (
            held is not None
            and (held.payload.get("error_type"), held.payload.get("details")) == mark
        ):
            return None  # the parent came first and holds this exception's error already
        end = to_time(max(item.span.end_ns, item.span.start_ns))
        return EventWrite(
            id=item.span.span_id + ERROR_SUFFIX,
            session_id=self._session.id,
            event_type="errors",
            init_timestamp=end,
            end_timestamp=end,
            agent_id=event.agent_id,
            name=error.type,
            model=None,
            provider=None,
            prompt_tokens=None,
            completion_tokens=None,
            cache_read_tokens=None,
            cache_write_tokens=None,
            reasoning_tokens=None,
            cost_nanos=None,
            cost_source=CostSource.NONE,
            payload={
                "error_type": error.type,
                "details": error.message,
                "logs": error.stacktrace,
                "trigger_event_id": event.id,
                "trigger_event_type": event.event_type,
            },
            parent_id=event.id,
        )


def _payload(span: Span, facts: SpanFacts) -> dict[str, Any]:
    kind_code, status = span.kind, span.status_code
    payload: dict[str, Any] = {
        "span": {
            "name": span.name,
            "kind": _KIND_NAMES[kind_code] if 0 <= kind_code < len(_KIND_NAMES) else kind_code,
            "scope": span.scope_name,
            "status": _STATUS_NAMES[status] if 0 <= status < 3 else "UNSET",
            "status_message": span.status_message or None,
            "convention": facts.convention,
        },
        "attributes": kept_attributes(span.attributes),
    }
    kind = facts.kind
    if kind == "tool":
        payload["name"] = facts.name
        payload["params"] = facts.params
        payload["returns"] = facts.returns
    elif kind != "llm":
        payload["action_type"] = facts.name or span.name
        payload["params"] = facts.params
        payload["returns"] = facts.returns
        if kind == "agent":
            payload["agent_name"] = facts.agent_name or facts.name
        elif kind == "session":
            payload["end_state"] = facts.end_state
            payload["end_state_reason"] = facts.end_reason
            payload["tags"] = list(facts.tags)
    if facts.response_id is not None:
        payload["response_id"] = facts.response_id
    if facts.conversation_id is not None:
        payload["conversation_id"] = facts.conversation_id
    error = facts.error
    if error is not None:
        payload["error"] = {"type": error.type, "message": error.message}
    return payload


def _embedding_output(usage: CallUsage, span: Span) -> CallUsage:
    """An embedding has no output: its missing output count is 0, so its input prices it."""
    if usage.input_tokens is not None and usage.output_tokens is None and _is_embedding(span):
        usage.output_tokens = 0
    return usage


def _is_embedding(span: Span) -> bool:
    attrs = span.attributes
    return (
        attrs.get("gen_ai.operation.name") == "embeddings"
        or attrs.get("openinference.span.kind") == "EMBEDDING"
        or attrs.get("gen_ai.request.type") == "embedding"
        or attrs.get("llm.request.type") == "embedding"
    )


def group_by_trace(spans: Iterable[Span]) -> dict[str, list[Span]]:
    groups: dict[str, list[Span]] = {}
    for span in spans:
        groups.setdefault(span.trace_id, []).append(span)
    return groups
