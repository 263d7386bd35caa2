"""OTLP ingestion end to end: decoded spans -> sessions, events and agents in the store.

A request of spans is prepared (prepare.py: its sessions written, what waited for its traces
taken, its events built), its events handed to the writer (idempotent by span id, so an
exporter's retry is stored once), then finished (finish.py: the few updates that late spans
make); what it took is held again if that fails (claim.py). Token-less spans and uploads of
agentops 0.4 are held for their trace (tokenless.py), GenAI log content for its span
(held_content.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime, timedelta
from functools import partial

from starlette.concurrency import run_in_threadpool

from agentops_server.config import ServerConfig
from agentops_server.ingest.otlp.assemble import session_id_of
from agentops_server.ingest.otlp.claim import Claimed, Claims
from agentops_server.ingest.otlp.decode import decode_traces
from agentops_server.ingest.otlp.finish import finish
from agentops_server.ingest.otlp.held_content import HeldContent
from agentops_server.ingest.otlp.log_content import contents_by_trace
from agentops_server.ingest.otlp.pending import content_rows
from agentops_server.ingest.otlp.pending_budget import PendingBudget
from agentops_server.ingest.otlp.prepare import Outcome, Prepared, TracePreparer
from agentops_server.ingest.otlp.spans import LogRecord, Span
from agentops_server.ingest.otlp.tokenless import TokenlessHold
from agentops_server.ingest.writer import IngestWriter, WriterUnavailable
from agentops_server.pricing import Pricer
from agentops_server.storage.records import PendingOtlp, Session, SessionWrite
from agentops_server.storage.store import NotFound, Store

logger = logging.getLogger("agentops_server.otlp")


class OtlpIngest:
    def __init__(
        self, store: Store, pricer: Pricer, writer: IngestWriter, config: ServerConfig
    ) -> None:
        self._store = store
        self._held = HeldContent(store)
        self._claims = Claims(store, self._held)
        self._writer = writer
        # Python work of requests one at a time (see TracePreparer.prepare); with one writer
        # thread doing all of it (SQLite) there is nothing to order, and a token-less request
        # decoding in a worker thread must not hold up the writes
        self._cpu: AbstractContextManager[object] = (
            nullcontext() if writer.single else threading.Lock()
        )
        self._preparer = TracePreparer(store, pricer, self._claims, self._cpu)
        self._budget = PendingBudget(store, config.otlp_pending_bytes)
        self._tokenless = TokenlessHold(store, self._budget)
        self._pending_seconds = config.otlp_pending_seconds

    # --- spans -----------------------------------------------------------------------------
    def decode(self, body: bytes, media: str) -> list[Span]:
        with self._cpu:
            return decode_traces(body, media)

    async def ingest_body(self, body: bytes, media: str, project_id: str) -> Outcome:
        """Decode a request's spans and store them for `project_id`. With one writer thread
        (SQLite) it does all of it, from the bytes to the commit; else decoding and preparing
        take one trip to a worker thread and the writers store the events."""
        try:
            return await self._store_prepared(partial(self._read, body, media, project_id))
        except WriterUnavailable:
            if self._writer.single:
                # a body the client must fix is told so (400) even while the server starts
                # or drains: a retry would never help it
                await run_in_threadpool(self.decode, body, media)
            raise

    def _read(self, body: bytes, media: str, project_id: str, claimed: Claimed) -> Prepared:
        return self.prepare(self.decode(body, media), project_id, claimed)

    def prepare(
        self, spans: Sequence[Span], project_id: str, claimed: Claimed | None = None
    ) -> Prepared:
        return self._preparer.prepare(spans, project_id, claimed)

    def finish(self, prepared: Prepared) -> None:
        finish(self._store, self._held, prepared)

    async def _store_prepared(self, prepare: Callable[[Claimed], Prepared]) -> Outcome:
        """Prepare (taking what waited), write the events and finish: with one writer thread
        (SQLite) all of it there, else preparing in a worker thread and the writers storing."""
        if self._writer.single:
            return await self._writer.run(lambda: self._whole(prepare))
        return await self._prepare_and_commit(prepare)

    def _whole(self, prepare: Callable[[Claimed], Prepared]) -> Outcome:
        """A request start to finish, on the writer thread."""
        claimed: Claimed = []
        try:
            prepared = prepare(claimed)
            if prepared.events:
                prepared.duplicates = self._store.append_events(prepared.events).duplicates
        except BaseException:
            self._claims.give_back(claimed)
            raise
        if prepared.needs_finish():
            self.finish(prepared)
        return prepared.outcome

    async def _prepare_and_commit(self, prepare: Callable[[Claimed], Prepared]) -> Outcome:
        claimed: Claimed = []
        try:
            prepared = await run_in_threadpool(prepare, claimed)
            if prepared.events:
                prepared.duplicates = (await self._writer.append(prepared.events)).duplicates
        except BaseException:
            await run_in_threadpool(self._claims.give_back, claimed)
            raise
        if prepared.needs_finish():
            await run_in_threadpool(self.finish, prepared)
        return prepared.outcome

    # --- token-less spans and uploads of agentops 0.4 ---------------------------------------
    async def hold(self, spans: Sequence[Span]) -> Outcome:
        """Keep token-less spans until an authenticated request names their trace. Only
        traces with no session yet: the client's early exports come before any authenticated
        one, and nobody without a key can add spans to a session that exists (those are
        rejected, each trace with its reason). A session created while they were held gets
        them now (see _store_for_owners)."""
        outcome, held = await run_in_threadpool(self._tokenless.hold_spans, spans)
        await self._store_for_owners(held)
        return outcome

    async def hold_upload(self, trace_id: str, text: str) -> bool:
        """Keep a token-less log upload (agentops 0.4 uploads its logfile when a trace ends,
        which may be before its token arrives) until an authenticated request names the
        trace, under the same rules and bounds as token-less spans. False if the trace's
        session exists already: then only its project's key adds to it."""
        if not await run_in_threadpool(self._tokenless.hold_upload, trace_id, text):
            return False
        if text:
            await self._store_for_owners([trace_id])
        return True

    async def _store_for_owners(self, trace_ids: Sequence[str]) -> None:
        """After a token-less hold commits, what waits for those of its traces whose session
        exists now is stored into it, as a request of the session's project would: an
        authenticated request that created the session meanwhile may have looked for held
        data before the hold committed. If the session is created after this look, its
        request's look (after that commit) finds the held rows; both may look, and each row
        goes to the one whose DELETE takes it (claim_pending). Never another project's: the
        session's project is the one any claim of the trace is for.

        The held rows are committed already: if this fails (an outage, a refused append),
        what it took is held again and the request is still answered as held, not with a
        retry the client cannot make (its retry finds the session and is refused, as a
        token-less request adding to a session). It waits for the trace's next
        authenticated request, as it would have without this look."""
        try:
            owners = await run_in_threadpool(self._tokenless.owners, trace_ids)
            for project_id, traces in sorted(owners.items()):
                await self._store_prepared(partial(self._preparer.prepare_held, traces, project_id))
        except Exception as exc:
            _not_stored_now(len(trace_ids), exc)

    async def store_held(self, trace_id: str, project_id: str) -> None:
        """After a request of `project_id` that is no request of spans (agentops 0.4's log
        upload) created the trace's session and committed: what waits for the trace is stored
        into it, as a request of its spans would have taken it. A token-less request holding
        meanwhile looked for the session before that commit, and left its rows for this look
        (see _store_for_owners). The project's own sessions only; a failure is logged, and
        what was taken is held again for the trace's next authenticated request: the request
        itself was stored, and a retry would store it twice."""
        try:
            if not await run_in_threadpool(self._store.pending_traces, [trace_id]):
                return  # the usual case, and a read: no turn of SQLite's one writer
            await self._store_prepared(partial(self._preparer.prepare_held, [trace_id], project_id))
        except Exception as exc:
            _not_stored_now(1, exc)

    def expire(self, now: datetime | None = None) -> int:
        """Drop what waited longer than the pending period (the sweeper calls this)."""
        before = (now or datetime.now(UTC)) - timedelta(seconds=self._pending_seconds)
        dropped = self._store.expire_pending(before)
        if dropped:
            logger.warning(
                "dropped %d held OTLP batch(es): no authenticated request named their trace "
                "within %d s (AGENTOPS_OTLP_PENDING_SECONDS)",
                dropped,
                self._pending_seconds,
            )
        return dropped

    # --- logs ------------------------------------------------------------------------------
    async def ingest_logs(self, records: Sequence[LogRecord], project_id: str) -> None:
        await run_in_threadpool(self._logs, records, project_id)

    def _logs(self, records: Sequence[LogRecord], project_id: str) -> None:
        """Join GenAI content to its span's event now, or hold it for when the span comes (one
        row per span: a request of the trace takes the content of its own spans only)."""
        now = datetime.now(UTC)
        by_trace = contents_by_trace(records)
        rows = [
            row
            for trace_id, contents in by_trace.items()
            for row in content_rows(trace_id, project_id, contents, now)
        ]
        # the budget first, as if all of it had to wait: a 503 after some content was merged
        # into stored events would have the exporter send it, and merge it, again
        self._budget.check(rows, project_id)
        held: list[PendingOtlp] = []
        for trace_id, contents in by_trace.items():
            session: Session | None
            try:
                session = self._store.get_session(project_id, session_id_of(trace_id))
            except NotFound:  # not stored yet, or another project's: nothing is touched
                session = None
            for span_id, of_span in contents.items():
                if session is None or not self._store.merge_event_payload(
                    session.id, span_id, of_span
                ):
                    held += content_rows(trace_id, project_id, {span_id: of_span}, now)
        self._held.hold(held)  # joined now where its span was stored meanwhile

    # --- uploads of agentops 0.4 -------------------------------------------------------------
    def session_for_upload(self, trace_id: str, project_id: str) -> str:
        """The session of `trace_id`, created if its spans have not arrived yet (Conflict if it
        is another project's)."""
        session_id = session_id_of(trace_id)
        self._store.write_session(
            SessionWrite(id=session_id, project_id=project_id, init_timestamp=datetime.now(UTC)),
            create=True,
        )
        return session_id


def _not_stored_now(traces: int, exc: Exception) -> None:
    logger.warning(
        "token-less OTLP data of %d trace(s), held, could not be stored into its session now "
        "(%s: %s); it waits for the trace's next authenticated request",
        traces,
        type(exc).__name__,
        exc,
    )
