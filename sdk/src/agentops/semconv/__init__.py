"""agentops 0.4's semantic conventions (`from agentops.semconv import SpanAttributes`): the
same names and values as 0.4.21, for 0.4 programs that name span attributes with them
(`update_trace_metadata({...})`, `span.set_attribute(...)`). tests/sdk/test_surface04.py
compares them with 0.4.21's."""

from __future__ import annotations

from agentops.semconv.agent import AgentAttributes
from agentops.semconv.core import CoreAttributes
from agentops.semconv.enum import LLMRequestTypeValues
from agentops.semconv.instrumentation import InstrumentationAttributes
from agentops.semconv.langchain import LangChainAttributes, LangChainAttributeValues
from agentops.semconv.message import MessageAttributes
from agentops.semconv.meters import Meters
from agentops.semconv.resource import ResourceAttributes
from agentops.semconv.span_attributes import SpanAttributes
from agentops.semconv.span_kinds import AgentOpsSpanKindValues, SpanKind
from agentops.semconv.status import ToolStatus
from agentops.semconv.tool import ToolAttributes
from agentops.semconv.workflow import WorkflowAttributes

SUPPRESS_LANGUAGE_MODEL_INSTRUMENTATION_KEY = "suppress_language_model_instrumentation"

__all__ = [
    "SUPPRESS_LANGUAGE_MODEL_INSTRUMENTATION_KEY",
    "AgentAttributes",
    "AgentOpsSpanKindValues",
    "CoreAttributes",
    "InstrumentationAttributes",
    "LLMRequestTypeValues",
    "LangChainAttributeValues",
    "LangChainAttributes",
    "MessageAttributes",
    "Meters",
    "ResourceAttributes",
    "SpanAttributes",
    "SpanKind",
    "ToolAttributes",
    "ToolStatus",
    "WorkflowAttributes",
]
