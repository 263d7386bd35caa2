"""agentops 0.4's end states of a trace, importable from `agentops` and `agentops.enums`.

0.4.21 carries them as OpenTelemetry status codes and drops them on the wire; here each
maps to an end state that is kept: SUCCESS is Success, ERROR is Fail, UNSET Indeterminate.
"""

from __future__ import annotations

from enum import Enum

from agentops.wire import EndState


class TraceState(Enum):
    """How a trace ended, as agentops 0.4 spells it (str() is the name, as in 0.4)."""

    SUCCESS = "OK"
    ERROR = "ERROR"
    UNSET = "UNSET"

    def __str__(self) -> str:
        return self.name

    @property
    def end_state(self) -> EndState:
        return _END_STATES[self]


_END_STATES = {
    TraceState.SUCCESS: EndState.SUCCESS,
    TraceState.ERROR: EndState.FAIL,
    TraceState.UNSET: EndState.INDETERMINATE,
}

SUCCESS = TraceState.SUCCESS
ERROR = TraceState.ERROR
UNSET = TraceState.UNSET

__all__ = ["ERROR", "SUCCESS", "UNSET", "TraceState"]
