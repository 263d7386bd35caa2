"""What became of a batch of events: the exporter returns it, the worker counts it.

The one seam between sending and bookkeeping (OpenTelemetry's SpanExportResult, Sentry's
lost-event reasons): the exporter never touches counters, and whatever wants to act on a
batch that did not reach the server (a log, an on-disk spool) subscribes to the worker.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any


class Outcome(str, Enum):  # noqa: UP042 (str mixin kept: str() and format() unchanged)
    SENT = "sent"  # the server stored them (or had them already)
    REFUSED = "refused"  # the server answered and refused them; sending again won't help
    DROPPED = "dropped"  # given up without the server's say: queue full, no answer in time
    SPOOLED = "spooled"  # no answer in time, kept on disk for a later process to send


QUEUE_FULL = "queue full"
# The session's API key was refused by the server: said once per key, by the exporter.
KEY_REFUSED = "the server refused the API key"
# Losses not logged one batch at a time: queue-full drops are counted and reported by the
# worker's thread (record() never logs), a refused key once for all its sessions.
SAID_ELSEWHERE = frozenset({QUEUE_FULL, KEY_REFUSED})


@dataclass(frozen=True, slots=True)
class BatchResult:
    """`count` events of one session had `outcome`; `reason` says why when not sent.

    `events` are the wire dicts of those events when the exporter built them (None for
    events dropped before encoding), so a listener can keep what the server did not take.
    """

    outcome: Outcome
    count: int
    session_id: str | None = None
    reason: str | None = None
    events: Sequence[dict[str, Any]] | None = None


Listener = Callable[[BatchResult], None]


def loss_key(result: BatchResult) -> str:
    """The short reason a loss is reported to the server under (session.dropped_events)."""
    if result.outcome is Outcome.REFUSED:
        return "refused"
    if result.reason == QUEUE_FULL:
        return "queue_full"
    if result.events is not None:  # no answer in time, and the spool could not keep them
        return "unreachable"
    return "unencodable" if result.reason and "encoded" in result.reason else "not_sent"


def sent(session_id: str, events: Sequence[dict[str, Any]]) -> BatchResult:
    return BatchResult(Outcome.SENT, len(events), session_id)


def refused(session_id: str, events: Sequence[dict[str, Any]], reason: str) -> BatchResult:
    return BatchResult(Outcome.REFUSED, len(events), session_id, reason, events)


def dropped(
    count: int,
    reason: str,
    session_id: str | None = None,
    events: Sequence[dict[str, Any]] | None = None,
) -> BatchResult:
    return BatchResult(Outcome.DROPPED, count, session_id, reason, events)
