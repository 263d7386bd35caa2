"""The AgentOps v2 wire protocol: paths, headers, event types and end states.

Shared by the SDK and the server (the server imports nothing else of the SDK). Stdlib only.
The protocol is the one the unmodified agentops 0.3.26 client speaks; the names marked
"extension" are additions our SDK sends and our server understands, ignored by others.
"""

from __future__ import annotations

from enum import Enum
from typing import Final

# --- HTTP paths (relative to the endpoint) --------------------------------------------------
CREATE_SESSION: Final = "/v2/create_session"
UPDATE_SESSION: Final = "/v2/update_session"
CREATE_EVENTS: Final = "/v2/create_events"
CREATE_AGENT: Final = "/v2/create_agent"
REAUTHORIZE_JWT: Final = "/v2/reauthorize_jwt"
DEVELOPER_ERRORS: Final = "/v2/developer_errors"

# --- Headers --------------------------------------------------------------------------------
API_KEY_HEADER: Final = "X-Agentops-Api-Key"
PARENT_KEY_HEADER: Final = "X-Agentops-Parent-Key"
AUTHORIZATION_HEADER: Final = "Authorization"


class EventType(str, Enum):  # noqa: UP042 (str mixin kept: str() and format() unchanged)
    """Event types as they travel on the wire ("event_type")."""

    LLM = "llms"
    ACTION = "actions"
    API = "apis"
    TOOL = "tools"
    ERROR = "errors"


class EndState(str, Enum):  # noqa: UP042 (str mixin kept: str() and format() unchanged)
    """How a session ended. "Failure" (the docs' spelling) is accepted as FAIL."""

    SUCCESS = "Success"
    FAIL = "Fail"
    INDETERMINATE = "Indeterminate"

    @classmethod
    def _missing_(cls, value: object) -> EndState | None:
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in ("failure", "fail", "failed"):
                return cls.FAIL
            for member in cls:
                if member.value.lower() == lowered:
                    return member
        return None


# --- Event fields -----------------------------------------------------------------------------
# Token counts beyond prompt/completion (extension): priced by the server when present.
CACHE_READ_TOKENS: Final = "cache_read_tokens"
CACHE_WRITE_TOKENS: Final = "cache_write_tokens"
REASONING_TOKENS: Final = "reasoning_tokens"
# The provider id for pricing, e.g. "openai", "anthropic" (extension; inferred when absent).
PROVIDER: Final = "provider"
# ErrorEvent's link to the event that failed (0.3.26 loses it; our SDK sends both).
TRIGGER_EVENT_ID: Final = "trigger_event_id"
TRIGGER_EVENT_TYPE: Final = "trigger_event_type"
# Bounds of one event's values: the SDK leaves out what exceeds them (the event is kept), the
# server refuses such an event.
MAX_EVENT_TOKENS: Final = 10**12
MAX_EVENT_COST_USD: Final = 10**6

# update_session's answer (extension): false when some LLM event of the session could not be
# priced (unknown model or token counts), so token_cost covers only the priced ones.
COST_COMPLETE: Final = "cost_complete"

# --- Session end reasons ------------------------------------------------------------------
REASON_NO_END: Final = "N/A (process exited without calling agentops.end_session(...))"
