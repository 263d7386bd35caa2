"""Exporter: the v2 protocol calls (reference §3.2), made on the worker thread only.

Connection errors, 429 and 5xx are retried with exponential backoff and jitter (Retry-After
honoured); that is safe because the server stores each event id once. A 401 on a token-authed
call re-creates the session (the server re-attaches by id) for a fresh token, once. A batch
answered 413 (too large), 400 or 422 (some event in it refused) is split in halves until the
refused events are alone, so one bad event never costs the others. Whatever is given up is
reported to the worker as a BatchResult (refused or dropped, and why), never counted here.

A session logs its page ("Session Replay") once the server created it, not before. A 401 on
create_session is a refused API key: said once per key, in one line, and its sessions' losses
(reason KEY_REFUSED) are counted without a line per batch.

HTTP 500 is the server failing on what it was sent, or failing altogether. A batch answered
500 three times is split and both halves are sent: when one half is stored and the other is
not, the culprit is in that half, which is split again until the events the server can't
store are alone; those are dropped (counted), so one of them can't hold up the single worker,
and every other session, for the whole retry budget. When both halves fail, or a lone event
fails right after a failed request, the server is failing: that is retried like an outage.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Protocol

from agentops import _outcome, wire
from agentops._budget import ProjectBudgetSignal
from agentops._encode import dumps, event_to_wire
from agentops._errors import first_time, logger
from agentops._outcome import BatchResult, Outcome
from agentops._transport import Request, Response, Transport, TransportError

if TYPE_CHECKING:
    from agentops._config import Configuration
    from agentops._events import Event, Frame


class Target(Protocol):
    """What the exporter needs of a session (a Session, without importing it)."""

    session_id: uuid.UUID
    config: Configuration
    transport: Transport
    host_env: dict[str, Any] | None  # None until collected in full (wire_snapshot)

    def on_created(self, page_url: str | None) -> None:
        """The server created (or re-attached) it: called on the worker's thread, with the
        page the server named for it (`session_url`), if it named one."""

    def wire_snapshot(self, host_env_wait: float = 0.0) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class SessionAnswer:
    """update_session's answer: the session's cost so far, and whether every call was priced."""

    cost: Decimal
    cost_complete: bool | None


RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
SPILL_PROBE_SECONDS = 5.0  # while spilling, how often a request still tries the server
SPLIT_STATUSES = frozenset({400, 413, 422})
ISOLATE_AFTER_500S = 3  # attempts answered 500 before a batch is split to find the culprit


def _ok(res: Response | None) -> bool:
    return res is not None and 200 <= res.status < 300


def parse_cost(value: Any) -> Decimal:
    """token_cost as the server sends it (string or number; missing or "unknown" is 0)."""
    if value is None or isinstance(value, bool):
        return Decimal(0)
    try:
        cost = Decimal(str(value))
    except InvalidOperation:
        return Decimal(0)
    return cost if cost.is_finite() else Decimal(0)


class Exporter:
    """Holds each session's token (and whether the server refused to create it) and the
    retry pacing; everything else is the worker's."""

    def __init__(self, max_retry_seconds: float = 300.0, max_backoff: float = 10.0) -> None:
        self.max_retry_seconds = max_retry_seconds
        self.max_backoff = max_backoff
        self._outage = False
        self._last_ok = False  # the last answer was a success (the server is working)
        # Set when a command arrives (end_session, flush): a retry waiting out its backoff
        # tries again at once instead of sleeping through the caller's deadline.
        self.nudge = threading.Event()
        # The last attempt failed (no answer, or a status worth a retry): the worker's queue
        # is not draining.
        self.struggling = False
        # Set while the last attempt got no answer at all (refused, unresolvable, timed out):
        # end_session() does not wait for the server's answer then (see BatchWorker.deliver).
        self.unreachable = threading.Event()
        self.attempts = 0  # requests that got an answer or failed, so far
        # Set by the worker when its queue nears max_queue_size while the server fails: a
        # request gives up after one failed attempt and no request is made between probes
        # (one per SPILL_PROBE_SECONDS), so batches go to the spool instead of the queue
        # overflowing. Cleared once the server answers, or the queue is back down.
        self.spilling = False
        self._next_probe = 0.0
        # The worker's check, after a failed attempt: True if it began spilling (its queue is
        # near full).
        self.spill_check: Callable[[], bool] = _never
        self._tokens: dict[uuid.UUID, str] = {}
        self._refused: dict[uuid.UUID, str] = {}  # session id -> why the server refused it
        self._unrecorded: set[uuid.UUID] = set()  # refused when first created: nothing stored
        # created before the host environment was collected: it follows in an update
        # (send_host_env); an ended one is forgotten once it was sent
        self._owed_host_env: dict[uuid.UUID, Target] = {}
        self._partial_host_env: set[uuid.UUID] = set()  # of those, sent without package lists
        self._forget_after_host_env: set[uuid.UUID] = set()
        # What the server's last answer said of the project's budget (read by every Ledger).
        self.project_budget = ProjectBudgetSignal()

    def token(self, session_id: uuid.UUID) -> str | None:
        """The server's token for a session (None until created)."""
        return self._tokens.get(session_id)

    def refused(self, session_id: uuid.UUID) -> bool:
        """Whether the server refused to create this session (a revoked key, say)."""
        return session_id in self._refused

    def unrecorded(self, session_id: uuid.UUID) -> bool:
        """Whether the server refused this session when it was first created: it stored
        nothing of it (unlike a session whose key was revoked after it began)."""
        return session_id in self._unrecorded

    def forget(self, session_id: uuid.UUID) -> None:
        """Drop what is kept for a session whose end was sent (or given up): a process
        running sessions one after another keeps no token per session it ever ran. One still
        owed its host environment keeps its token until that was sent."""
        if session_id in self._owed_host_env:
            self._forget_after_host_env.add(session_id)
            return
        self._tokens.pop(session_id, None)
        self._refused.pop(session_id, None)
        self._unrecorded.discard(session_id)

    def _key_refused(self, session_id: uuid.UUID) -> bool:
        return self._refused.get(session_id) == _outcome.KEY_REFUSED

    def needs_create(self, session_id: uuid.UUID) -> bool:
        return session_id not in self._tokens and session_id not in self._refused

    def owes_host_env(self, session_id: uuid.UUID | None = None) -> bool:
        """Whether this session (None: any session) was created without its full host
        environment, which is still to be sent."""
        return (
            bool(self._owed_host_env) if session_id is None else session_id in self._owed_host_env
        )

    # --- protocol calls -----------------------------------------------------------------
    def create_session(self, session: Target, *, renewing: bool = False) -> bool:
        """Create (or, `renewing` its token, re-create) the session on the server, with its
        host environment as collected so far (the rest follows: send_host_env)."""
        snapshot = session.wire_snapshot()
        body = dumps({"session": snapshot})
        res = self.post(session, wire.CREATE_SESSION, body, with_token=False)
        token = page_url = None
        if _ok(res):
            assert res is not None
            payload = res.json()
            if isinstance(payload, dict) and isinstance(payload.get("jwt"), str):
                token = payload["jwt"] or None
                page_url = _page_url(payload.get("session_url"))
        if token is None:
            why = _describe(res)
            if res is not None and res.status not in RETRY_STATUSES:  # refused: for good
                key_refused = res.status == 401
                self._refused[session.session_id] = _outcome.KEY_REFUSED if key_refused else why
                if not renewing:
                    self._unrecorded.add(session.session_id)
                if key_refused:
                    _say_key_refused(session, why, renewing)
                    return False
            elif self.spilling:  # said once, when the spilling began
                return False
            logger.error("Could not start session %s - %s", session.session_id, why)
            return False
        self._tokens[session.session_id] = token
        self._note_host_env(session, snapshot.get("host_env"))
        session.on_created(page_url)
        return True

    def send_events(self, session: Target, events: list[Event | Frame]) -> list[BatchResult]:
        """Send one session's events; what became of them, in one or more results."""
        sid = str(session.session_id)
        if not self._ready(session):
            refused = self._refused.get(session.session_id)
            if refused is not None:
                why = (
                    refused
                    if self._key_refused(session.session_id)
                    else f"session {sid} was refused: {refused}"
                )
                return [BatchResult(Outcome.REFUSED, len(events), sid, why)]
            why = f"session {sid} was not created: no answer from the server"
            wire_events = [w for w in (self._encode_one(e, sid, []) for e in events) if w]
            return [_outcome.dropped(len(events), why, sid, wire_events)]
        results: list[BatchResult] = []
        try:
            wire_events = [event_to_wire(e, sid) for e in events]
        except Exception:  # find the culprits: each one is dropped and counted alone
            encoded = (self._encode_one(e, sid, results) for e in events)
            wire_events = [w for w in encoded if w is not None]
        if wire_events:
            self._send_wire(session, wire_events, results)
        return results

    def _encode_one(
        self, event: Event | Frame, session_id: str, results: list[BatchResult]
    ) -> dict[str, Any] | None:
        try:
            return event_to_wire(event, session_id)
        except Exception as exc:
            logger.debug("could not encode %s", type(event).__name__, exc_info=exc)
            why = f"{type(event).__name__} could not be encoded ({exc!r})"
            results.append(_outcome.dropped(1, why, session_id))
            return None

    def _encodable(
        self, session_id: str, events: list[dict[str, Any]], results: list[BatchResult]
    ) -> list[dict[str, Any]]:
        """The events that encode now, each frozen as the JSON it gave; the others are dropped
        and counted (as unencodable), each alone."""
        kept: list[dict[str, Any]] = []
        for event in events:
            try:
                kept.append(json.loads(dumps(event)))
            except RuntimeError as exc:
                why = f"{event.get('event_type', 'event')} could not be encoded ({exc!r})"
                results.append(_outcome.dropped(1, why, session_id))
        return kept

    def _post_events(
        self, session: Target, events: list[dict[str, Any]], isolate: bool
    ) -> Response | None:
        body = dumps({"events": events})
        return self.post(session, wire.CREATE_EVENTS, body, isolate_500=isolate)

    def _send_wire(
        self,
        session: Target,
        events: list[dict[str, Any]],
        results: list[BatchResult],
        *,
        isolate: bool = True,
    ) -> None:
        sid = str(session.session_id)
        server_was_working = self._last_ok
        try:
            res = self._post_events(session, events, isolate)
        except RuntimeError:  # an event the program kept changing while it was encoded
            events = self._encodable(sid, events, results)
            if not events:
                return
            res = self._post_events(session, events, isolate)
        if _ok(res):
            results.append(_outcome.sent(sid, events))
            return
        if self._key_refused(session.session_id):  # just now, renewing the token: said then
            results.append(_outcome.refused(sid, events, _outcome.KEY_REFUSED))
            return
        if isolate and res is not None and res.status == 500:
            if len(events) > 1:
                self._isolate(session, events, results)
            elif server_was_working:
                results.append(_outcome.refused(sid, events, _UNSTORABLE))
            else:
                self._send_wire(session, events, results, isolate=False)
            return
        if res is not None and res.status in SPLIT_STATUSES and len(events) > 1:
            half = len(events) // 2
            self._send_wire(session, events[:half], results, isolate=isolate)
            self._send_wire(session, events[half:], results, isolate=isolate)
            return
        why = f"create_events failed: {_describe(res)}"
        if res is None or res.status in RETRY_STATUSES:  # no (final) answer in time
            results.append(_outcome.dropped(len(events), why, sid, events))
        else:
            results.append(_outcome.refused(sid, events, why))

    def _isolate(
        self, session: Target, events: list[dict[str, Any]], results: list[BatchResult]
    ) -> None:
        """`events` were answered 500: find the ones the server can't store by halving."""
        sid = str(session.session_id)
        half = len(events) // 2
        parts = (events[:half], events[half:])
        answers = [self._post_events(session, part, True) for part in parts]
        for part, res in zip(parts, answers, strict=True):
            if _ok(res):
                results.append(_outcome.sent(sid, part))
        failed = [(part, res) for part, res in zip(parts, answers, strict=True) if not _ok(res)]
        if len(failed) == 1 and failed[0][1] is not None and failed[0][1].status == 500:
            part = failed[0][0]  # its sibling was stored: the server works, this part doesn't
            if len(part) == 1:
                results.append(_outcome.refused(sid, part, _UNSTORABLE))
            else:
                self._isolate(session, part, results)
            return
        if len(failed) == 2 and all(res is not None and res.status == 500 for _, res in failed):
            # the server is failing: an outage
            self._send_wire(session, events, results, isolate=False)
            return
        for part, _ in failed:  # refused for another reason: the usual handling
            self._send_wire(session, part, results)

    def update_session(self, session: Target, snapshot: dict[str, Any]) -> SessionAnswer | None:
        """POST a session snapshot; the server's cumulative cost, or None on failure."""
        if not self._ready(session):
            return None
        host_env = session.wire_snapshot()["host_env"]  # if collected since the snapshot
        snapshot = {**snapshot, "host_env": host_env}
        res = self.post(session, wire.UPDATE_SESSION, dumps({"session": snapshot}))
        if not _ok(res):
            if not self._key_refused(session.session_id):
                why = _describe(res)
                logger.warning("Could not update session %s - %s", session.session_id, why)
            return None
        assert res is not None
        self._note_host_env(session, host_env)
        payload = res.json()
        if not isinstance(payload, dict):
            return SessionAnswer(parse_cost(None), None)
        complete = payload.get(wire.COST_COMPLETE)
        return SessionAnswer(
            parse_cost(payload.get("token_cost")), complete if isinstance(complete, bool) else None
        )

    def send_host_env(self, at_exit: bool = False) -> None:
        """Send the host environment, collected in full now, to the sessions created without
        it: an update that carries only it (the v2 update_session changes only what it is
        sent). `at_exit`: what there is, if nothing was sent yet; nothing is owed after."""
        for session_id, session in list(self._owed_host_env.items()):
            host_env = session.wire_snapshot()["host_env"]
            if session.host_env is None:  # the package lists are still being read
                if not at_exit:
                    continue
                if host_env is None or session_id in self._partial_host_env:
                    self._host_env_sent(session_id)  # nothing more to send
                    continue
            if session_id in self._tokens:
                body = {"session": {"session_id": str(session_id), "host_env": host_env}}
                res = self.post(session, wire.UPDATE_SESSION, dumps(body))
                if not _ok(res) and not self._key_refused(session_id):
                    logger.debug(
                        "Could not send the host environment of session %s - %s",
                        session_id,
                        _describe(res),
                    )
            self._host_env_sent(session_id)

    def _note_host_env(self, session: Target, sent: dict[str, Any] | None) -> None:
        """After a create or update that carried `sent`: owed the rest, or no longer."""
        if session.host_env is not None:
            self._host_env_sent(session.session_id)
            return
        self._owed_host_env[session.session_id] = session
        if sent is not None:
            self._partial_host_env.add(session.session_id)

    def _host_env_sent(self, session_id: uuid.UUID) -> None:
        self._owed_host_env.pop(session_id, None)
        self._partial_host_env.discard(session_id)
        if session_id in self._forget_after_host_env:
            self._forget_after_host_env.discard(session_id)
            self.forget(session_id)

    def create_agent(self, session: Target, agent_id: str, name: str | None) -> None:
        if not self._ready(session):
            return
        body: dict[str, Any] = {"id": agent_id}
        if name is not None:
            body["name"] = name
        res = self.post(session, wire.CREATE_AGENT, dumps(body))
        if not _ok(res) and not self._key_refused(session.session_id):
            logger.warning("Could not create agent %s - %s", name, _describe(res))

    def _ready(self, session: Target) -> bool:
        if session.session_id in self._refused:
            return False
        return session.session_id in self._tokens or self.create_session(session)

    # --- one request with retries -------------------------------------------------------
    def post(
        self,
        session: Target,
        path: str,
        body: bytes,
        *,
        with_token: bool = True,
        isolate_500: bool = False,
    ) -> Response | None:
        """Send until answered with a non-retryable status; None if no answer in time.

        With `isolate_500`, a 500 answered ISOLATE_AFTER_500S times in a row is returned.
        """
        config = session.config
        started = time.monotonic()
        attempt = 0
        errors_500 = 0
        reauthorized = False
        if self.spilling and self.struggling and started < self._next_probe:
            return None  # straight to the spool until the next probe
        while True:
            headers = {wire.API_KEY_HEADER: config.api_key or ""}
            if config.parent_key and path == wire.CREATE_SESSION:
                headers[wire.PARENT_KEY_HEADER] = config.parent_key
            token = self._tokens.get(session.session_id)
            if with_token and token:
                headers[wire.AUTHORIZATION_HEADER] = f"Bearer {token}"
            request = Request(url=config.endpoint + path, path=path, body=body, headers=headers)
            delay: float | None = None
            res: Response | None = None
            try:
                answer = session.transport.send(request)
            except TransportError as exc:
                self.attempts += 1
                self._last_ok = False
                self.struggling = True
                self.unreachable.set()
                self._note_outage(config.endpoint, str(exc))
            else:
                res = answer
                self.attempts += 1
                self.unreachable.clear()
                self._last_ok = 200 <= answer.status < 300
                # a 500 is the server failing on what it was sent (see the split), not an
                # outage: it does not make the worker spill
                self.struggling = answer.status in RETRY_STATUSES and answer.status != 500
                if not self.struggling:
                    self.spilling = False
                self.project_budget.note(answer.headers, self._last_ok)
                self._note_recovery(config.endpoint)
                if answer.status == 401 and with_token and not reauthorized:
                    reauthorized = True
                    self._tokens.pop(session.session_id, None)
                    if self.create_session(session, renewing=True):
                        continue
                    return answer
                if answer.status not in RETRY_STATUSES:
                    return answer
                delay = answer.retry_after
                errors_500 = errors_500 + 1 if answer.status == 500 else 0
                if isolate_500 and errors_500:
                    if errors_500 >= ISOLATE_AFTER_500S:
                        return answer
                    if delay is None:  # soon: a hiccup passes, a culprit is found
                        delay = 0.1 * errors_500
            if self.struggling and (self.spilling or self.spill_check()):  # to the spool
                self._next_probe = time.monotonic() + SPILL_PROBE_SECONDS
                return res
            attempt += 1
            backoff = min(self.max_backoff, 0.2 * 2 ** min(attempt, 16))
            wait = min(60.0, delay) if delay is not None else backoff * random.uniform(0.5, 1.0)
            if time.monotonic() + wait - started > self.max_retry_seconds:
                return res
            self.nudge.wait(wait)
            self.nudge.clear()

    def _note_outage(self, endpoint: str, error: str) -> None:
        if not self._outage:
            self._outage = True
            logger.warning("Could not reach the server at %s (%s); retrying", endpoint, error)

    def _note_recovery(self, endpoint: str) -> None:
        if self._outage:
            self._outage = False
            logger.info("Reached the server at %s again", endpoint)


_UNSTORABLE = (
    "the server failed on this event (HTTP 500) while it stored the others; see the server's log"
)


def _page_url(value: object) -> str | None:
    """The session's page as the server named it (its public URL, behind a proxy say): an
    http(s) URL, else None (agentops' own servers answer other things there)."""
    if isinstance(value, str) and value.startswith(("http://", "https://")) and len(value) < 2048:
        return value
    return None


def _never() -> bool:
    return False


def _say_key_refused(session: Target, why: str, renewing: bool) -> None:
    """The server refused the session's API key (401 on create_session): said once per key,
    for every session using it, in place of each loss it causes."""
    config = session.config
    if not first_time(f"key refused: {config.api_key} {config.parent_key}"):
        return
    # the server answers a bad parent key as it answers a bad key: name both when both are sent
    what, where = "API key", "api_key= or AGENTOPS_API_KEY"
    if config.parent_key:
        what, where = "API key or parent key", f"{where}, parent_key= or AGENTOPS_PARENT_KEY"
    if renewing:
        lost = (
            f"session {session.session_id} records nothing more (what it sent before is kept), "
            "nor does any other session using this key"
        )
    else:
        lost = "nothing of this session is recorded, nor of any other using this key"
    logger.error(
        "The server at %s refused the %s (%s): %s. Check %s (this key ends in %s)",
        config.endpoint,
        what,
        why,
        lost,
        where,
        (config.api_key or "")[-4:],
    )


def _describe(res: Response | None) -> str:
    if res is None:
        return "no answer from the server"
    payload = res.json()
    message = payload.get("message") if isinstance(payload, dict) else None
    if message is None and isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        message = payload["error"].get("message")
    return f"HTTP {res.status}" + (f": {message}" if message else "")
