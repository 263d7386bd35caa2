"""agentops 0.4.21's agentops.semconv.span_kinds (the same names and values)."""

from __future__ import annotations

from enum import Enum


class AgentOpsSpanKindValues(Enum):
    """Standard span kind values for AgentOps."""

    WORKFLOW = "workflow"
    SESSION = "session"
    TASK = "task"
    OPERATION = "operation"
    AGENT = "agent"
    TOOL = "tool"
    LLM = "llm"
    CHAIN = "chain"
    TEXT = "text"
    GUARDRAIL = "guardrail"
    HTTP = "http"
    UNKNOWN = "unknown"


class SpanKind:
    """Legacy span kind definitions - use AgentOpsSpanKindValues instead."""

    AGENT_ACTION = "agent.action"
    AGENT_THINKING = "agent.thinking"
    AGENT_DECISION = "agent.decision"
    LLM_CALL = "llm.call"
    WORKFLOW_STEP = "workflow.step"
    WORKFLOW = "workflow"
    SESSION = "session"
    TASK = "task"
    OPERATION = "operation"
    AGENT = "agent"
    TOOL = "tool"
    LLM = "llm"
    UNKNOWN = "unknown"
    CHAIN = "chain"
    TEXT = "text"
    GUARDRAIL = "guardrail"
    HTTP = "http"
