"""agentops 0.4.21's agentops.semconv.agent (the same names and values)."""

from __future__ import annotations


class AgentAttributes:
    """Attributes specific to agent spans."""

    AGENT_ID = "agent.id"
    AGENT_NAME = "agent.name"
    AGENT_ROLE = "agent.role"
    AGENT_TOOLS = "agent.tools"
    AGENT_MODELS = "agent.models"
    TOOLS = "tools"
    HANDOFFS = "handoffs"
    FROM_AGENT = "from_agent"
    TO_AGENT = "to_agent"
    AGENT_REASONING = "agent.reasoning"
