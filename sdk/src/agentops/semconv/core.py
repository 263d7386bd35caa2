"""agentops 0.4.21's agentops.semconv.core (the same names and values)."""

from __future__ import annotations


class CoreAttributes:
    """Core attributes applicable to all spans."""

    ERROR_TYPE = "error.type"
    ERROR_MESSAGE = "error.message"
    TAGS = "agentops.tags"
    TRACE_ID = "trace.id"
    SPAN_ID = "span.id"
    PARENT_ID = "parent.id"
    GROUP_ID = "group.id"
