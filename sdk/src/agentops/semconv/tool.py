"""agentops 0.4.21's agentops.semconv.tool (the same names and values)."""

from __future__ import annotations


class ToolAttributes:
    """Attributes specific to tool spans."""

    TOOL_ID = "tool.id"
    TOOL_NAME = "tool.name"
    TOOL_DESCRIPTION = "tool.description"
    TOOL_PARAMETERS = "tool.parameters"
    TOOL_RESULT = "tool.result"
    TOOL_STATUS = "tool.status"
