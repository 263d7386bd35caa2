"""The background alerter of each server process: evaluates every rule every
AGENTOPS_ALERT_INTERVAL_SECONDS, and sends due firings to their webhooks, each attempt a task
of its own, so a slow webhook holds up neither the evaluations nor the other webhooks.

All processes run one; the store's claims make each occurrence fire once and each delivery
attempt run in one process. Nothing here runs on the ingestion path.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
from starlette.concurrency import run_in_threadpool

from agentops_server import __version__
from agentops_server.alerts.payload import alert_payload
from agentops_server.config import ServerConfig
from agentops_server.storage.alert_records import AlertAttempt, AlertDelivery
from agentops_server.storage.store import Store

logger = logging.getLogger("agentops_server.alerts")

DELIVERY_TIMEOUT = httpx.Timeout(10.0, connect=5.0)  # each connect, read and write
# The whole attempt: httpx's timeouts are per operation, so a receiver that trickles its answer
# a byte at a time would otherwise hold the attempt past LEASE.
ATTEMPT_DEADLINE = 30.0
LEASE = timedelta(seconds=60)  # longer than one attempt can take (ATTEMPT_DEADLINE)
MAX_RETRY_DELAY = 3600.0
MAX_ERROR_LENGTH = 500
MAX_IN_FLIGHT = 100  # attempts one process runs at once
# Attempts of one rule leased at once. A rule with attempts in flight gets no more until they
# have ended, so a rule whose webhook hangs holds at most PER_RULE slots and delays only its
# own firings.
PER_RULE = 5


def retry_delay(retry_seconds: float, attempt: int) -> timedelta:
    """Wait after failed attempt number `attempt` (1, 2, ...): doubling, capped at an hour."""
    return timedelta(seconds=min(MAX_RETRY_DELAY, retry_seconds * 2 ** (attempt - 1)))


class Alerter:
    def __init__(
        self,
        store: Store,
        config: ServerConfig,
        attempt_deadline: float = ATTEMPT_DEADLINE,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        self._store = store
        self._config = config
        self._attempt_deadline = attempt_deadline
        self._max_in_flight = max_in_flight
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()  # an attempt ended or a rule fired: lease what is due
        self._sending: dict[asyncio.Task[None], str] = {}  # attempt -> its rule's id
        self._client: httpx.AsyncClient | None = None

    def start(self) -> None:
        self._client = httpx.AsyncClient(
            timeout=DELIVERY_TIMEOUT,
            follow_redirects=False,
            headers={"User-Agent": f"agentops-server/{__version__} (alerts)"},
            limits=httpx.Limits(max_connections=self._max_in_flight),
        )
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._evaluations(), name="alerter-evaluate"),
            loop.create_task(self._deliveries(), name="alerter-deliver"),
        ]

    async def stop(self) -> None:
        """Let an evaluation and the attempts in flight finish (attempts have a deadline), then
        stop; nothing new is leased meanwhile."""
        self._stopping.set()
        await asyncio.gather(*self._tasks)
        self._tasks = []
        while self._sending:
            await asyncio.wait(list(self._sending))
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _pause(self, until: asyncio.Event) -> None:
        """Wait for `until`, stopping, or one interval, whichever comes first."""
        waits = [asyncio.ensure_future(e.wait()) for e in {until, self._stopping}]
        try:
            await asyncio.wait(
                waits,
                timeout=self._config.alert_interval_seconds,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            for waiting in waits:
                waiting.cancel()

    async def _evaluations(self) -> None:
        while True:
            await self._pause(self._stopping)
            if self._stopping.is_set():
                return
            try:
                if await run_in_threadpool(self.evaluate):
                    self._wake.set()
            except Exception:  # a database hiccup must not stop future evaluations
                logger.exception("evaluating alert rules failed; will retry")

    async def _deliveries(self) -> None:
        """Lease due firings whenever a slot is free: every interval (retries come due), and
        as soon as a rule fires or an attempt ends."""
        while True:
            await self._pause(self._wake)
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                await self._dispatch()
            except Exception:
                logger.exception("leasing alert deliveries failed; will retry")

    def evaluate(self) -> int:
        """Evaluate every rule once; returns how many occurrences this process fired."""
        now = datetime.now(UTC)
        fired = 0
        for rule in self._store.list_alert_rules():
            try:
                found = self._store.fire_alert_rule(rule, now)
            except Exception:  # one rule's failure must not silence the others
                logger.exception("evaluating alert rule %s failed", rule.id)
                continue
            for firing in found:
                logger.info("alert rule %s (%s) fired: %s", rule.id, rule.kind, firing.occurrence)
            fired += len(found)
        return fired

    async def deliver(self) -> int:
        """Attempt every due delivery this process can lease now and wait for those attempts;
        returns how many it started."""
        started = await self._dispatch()
        while self._sending:
            await asyncio.wait(list(self._sending))
        return started

    async def _dispatch(self) -> int:
        """Lease due firings into the free slots, each attempt a task of its own; a lease is
        taken only for an attempt that starts at once, so it cannot run out while it waits."""
        started = 0
        while not self._stopping.is_set():
            free = self._max_in_flight - len(self._sending)
            if free <= 0:
                break
            now = datetime.now(UTC)
            leased = await run_in_threadpool(
                self._store.claim_alert_deliveries,
                now,
                now + LEASE,
                min(free, 10),
                per_rule=PER_RULE,
                skip_rules=frozenset(self._sending.values()),
            )
            for delivery in leased:
                task = asyncio.get_running_loop().create_task(self._attempt(delivery))
                self._sending[task] = delivery.rule.id
                task.add_done_callback(self._sent)
            started += len(leased)
            if not leased:
                break
        return started

    async def _attempt(self, delivery: AlertDelivery) -> None:
        assert self._client is not None
        if delivery.attempt > self._config.alert_max_attempts:
            # the results of earlier attempts could not be kept (their leases ran out): stop
            lost = AlertAttempt(
                attempt=delivery.attempt,
                at=datetime.now(UTC),
                ok=False,
                status_code=None,
                error="not sent: the limit of attempts was reached (earlier results were lost)",
            )
            await run_in_threadpool(
                self._store.record_alert_attempt, delivery.firing.id, lost, None
            )
            return
        body = alert_payload(delivery, self._config.base_url)
        status: int | None = None
        error: str | None = None
        permanent = False  # a URL httpx refuses (e.g. http://999.1.1.1/) never works
        try:
            async with asyncio.timeout(self._attempt_deadline):
                url = delivery.rule.webhook_url
                async with self._client.stream("POST", url, json=body) as got:
                    status = got.status_code
                    if not got.is_success:
                        error = f"HTTP {status}: {await _start_of(got)}"
        except TimeoutError:
            error = f"no complete answer within {self._attempt_deadline:g} s"
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            permanent = isinstance(exc, httpx.InvalidURL)
        now = datetime.now(UTC)
        ok = error is None
        retry_at = None
        if not ok and not permanent and delivery.attempt < self._config.alert_max_attempts:
            retry_at = now + retry_delay(self._config.alert_retry_seconds, delivery.attempt)
        attempt = AlertAttempt(
            attempt=delivery.attempt,
            at=now,
            ok=ok,
            status_code=status,
            error=None if error is None else _storable(error[:MAX_ERROR_LENGTH]),
        )
        if not ok:
            then = "giving up" if retry_at is None else f"retry at {retry_at:%H:%M:%S}"
            logger.warning(
                "alert %s: attempt %d to %s failed (%s); %s",
                delivery.firing.id,
                delivery.attempt,
                _where(delivery.rule.webhook_url),
                error,
                then,
            )
        await run_in_threadpool(
            self._store.record_alert_attempt, delivery.firing.id, attempt, retry_at
        )

    def _sent(self, task: asyncio.Task[None]) -> None:
        del self._sending[task]
        self._wake.set()  # a slot is free
        if not task.cancelled() and (error := task.exception()) is not None:
            # the attempt is not recorded: its lease runs out and it is tried again
            logger.error("recording an alert attempt failed", exc_info=error)


async def _start_of(response: httpx.Response, limit: int = 200) -> str:
    """The first characters of an error answer (never the whole of a huge one)."""
    start = b""
    async for chunk in response.aiter_bytes():
        start += chunk
        if len(start) >= limit:
            break
    return start[:limit].decode("utf-8", "replace").strip()


def _storable(text: str) -> str:
    """A receiver's answer as the history keeps it: PostgreSQL text holds no NUL character
    (an answer with one could not be recorded, and its alert was sent again and again)."""
    return text.replace("\x00", "\ufffd")


def _where(url: str) -> str:
    """scheme://host[:port] of a webhook: its path may hold a secret (Slack's does)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/..."
