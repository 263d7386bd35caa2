"""The SQL of alerts: rules, firing (claimed by a unique key), delivery leases and attempts.

`AlertSql` is mixed into SqlStore. Every worker and replica evaluates the rules; the unique
(rule, occurrence) row decides which one fired, and an UPDATE ... RETURNING lease decides
which one delivers, so each occurrence is sent once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, RowMapping, delete, func, insert, or_, select, update

from agentops_server.storage.alert_conditions import error_rate, find_occurrences
from agentops_server.storage.alert_records import (
    AlertAttempt,
    AlertDelivery,
    AlertFiring,
    AlertKind,
    AlertOccurrence,
    AlertRule,
    AlertRuleWrite,
)
from agentops_server.storage.appends import insert_ignore
from agentops_server.storage.schema import alert_attempts, alert_firings, alert_rules, projects
from agentops_server.storage.store import NotFound

T = TypeVar("T")
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


class AlertSql:
    """The alert methods of SqlStore (which provides `_read`, `_transact`, `dialect`)."""

    dialect: str

    def _read(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _transact(self, work: Callable[[Connection], T]) -> T:
        raise NotImplementedError

    # --- rules -------------------------------------------------------------------------------
    def create_alert_rule(self, write: AlertRuleWrite) -> AlertRule:
        rule = AlertRule(
            id=str(uuid.uuid4()),
            project_id=write.project_id,
            kind=write.kind,
            threshold=write.threshold,
            window_minutes=write.window_minutes,
            min_sessions=write.min_sessions,
            webhook_url=write.webhook_url,
            created_at=datetime.now(UTC),
        )

        def work(conn: Connection) -> None:
            known = select(projects.c.id).where(projects.c.id == write.project_id)
            if conn.execute(known).first() is None:
                raise NotFound(f"project {write.project_id} not found")
            values = {k: getattr(rule, k) for k in _RULE_FIELDS}
            conn.execute(insert(alert_rules).values(**values))

        self._transact(work)
        return rule

    def list_alert_rules(self, project_id: str | None = None) -> list[AlertRule]:
        """The rules of a project (or of all projects), oldest first."""
        query = select(alert_rules).order_by(alert_rules.c.created_at, alert_rules.c.id)
        if project_id is not None:
            query = query.where(alert_rules.c.project_id == project_id)
        with self._read() as conn:
            return [_rule(r) for r in conn.execute(query).mappings()]

    def delete_alert_rule(self, project_id: str, rule_id: str) -> AlertRule:
        """Remove a rule with its history; NotFound if absent or another project's."""

        def work(conn: Connection) -> AlertRule:
            owned = (alert_rules.c.id == rule_id) & (alert_rules.c.project_id == project_id)
            row = conn.execute(select(alert_rules).where(owned)).mappings().first()
            if row is None:
                raise NotFound(f"alert rule {rule_id} not found")
            firings = select(alert_firings.c.id).where(alert_firings.c.rule_id == rule_id)
            conn.execute(delete(alert_attempts).where(alert_attempts.c.firing_id.in_(firings)))
            conn.execute(delete(alert_firings).where(alert_firings.c.rule_id == rule_id))
            conn.execute(delete(alert_rules).where(owned))
            return _rule(row)

        return self._transact(work)

    # --- evaluation --------------------------------------------------------------------------
    def fire_alert_rule(self, rule: AlertRule, now: datetime) -> list[AlertFiring]:
        """Evaluate `rule` at `now` and claim what it finds: the firings this call created
        (another process that claimed an occurrence first makes it absent here). The search
        reads; a write transaction is only opened for something to claim."""
        with self._read() as conn:
            if rule.kind == AlertKind.ERROR_RATE:
                breached, details = error_rate(conn, rule, now)
                flag = select(alert_rules.c.breached).where(alert_rules.c.id == rule.id)
                was_breached = conn.execute(flag).scalar()
            else:
                found = find_occurrences(conn, self.dialect, rule, now)
        if rule.kind == AlertKind.ERROR_RATE:
            if was_breached is None or breached == was_breached:  # removed, or no change
                return []
            return self._transact(lambda conn: self._episode(conn, rule, breached, details, now))
        if not found:
            return []
        return self._transact(
            lambda conn: [f for f in (self._claim(conn, rule, o, now) for o in found) if f]
        )

    def _episode(
        self,
        conn: Connection,
        rule: AlertRule,
        breached: bool,
        details: dict[str, Any],
        now: datetime,
    ) -> list[AlertFiring]:
        """An error-rate episode starts when the rate goes over (the rule's `breached` flips,
        and only the UPDATE that flipped it fires) and ends when it is back under."""
        mine = alert_rules.c.id == rule.id
        if not breached:
            conn.execute(
                update(alert_rules)
                .where(mine, alert_rules.c.breached.is_(True))
                .values(breached=False)
            )
            return []
        flipped = conn.execute(
            update(alert_rules)
            .where(mine, alert_rules.c.breached.is_(False))
            .values(breached=True, episode=alert_rules.c.episode + 1)
            .returning(alert_rules.c.episode)
        ).first()
        if flipped is None:
            return []
        episode = AlertOccurrence(f"episode:{flipped[0]}", None, details)
        firing = self._claim(conn, rule, episode, now)
        return [] if firing is None else [firing]

    def _claim(
        self, conn: Connection, rule: AlertRule, found: AlertOccurrence, now: datetime
    ) -> AlertFiring | None:
        firing = AlertFiring(
            id=str(uuid.uuid4()),
            rule_id=rule.id,
            project_id=rule.project_id,
            occurrence=found.occurrence,
            session_id=found.session_id,
            fired_at=now,
            details=found.details,
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            delivered_at=None,
        )
        values = {k: getattr(firing, k) for k in _FIRING_FIELDS}
        statement = insert_ignore(self.dialect, alert_firings).values(**values)
        statement = statement.on_conflict_do_nothing(index_elements=["rule_id", "occurrence"])
        inserted = conn.execute(statement.returning(alert_firings.c.id)).first()
        return None if inserted is None else firing

    # --- delivery ----------------------------------------------------------------------------
    def claim_alert_deliveries(
        self,
        now: datetime,
        lease_until: datetime,
        limit: int = 10,
        *,
        per_rule: int | None = None,
        skip_rules: Collection[str] = (),
    ) -> list[AlertDelivery]:
        """Lease up to `limit` firings due for an attempt (none leased by a live process),
        at most `per_rule` of one rule and none of `skip_rules`, oldest due first."""
        due = (
            alert_firings.c.status == PENDING,
            alert_firings.c.next_attempt_at <= now,
            or_(alert_firings.c.lease_until.is_(None), alert_firings.c.lease_until <= now),
        )
        skip = [alert_firings.c.rule_id.not_in(list(skip_rules))] if skip_rules else []
        nth = func.row_number().over(
            partition_by=alert_firings.c.rule_id,
            order_by=(alert_firings.c.next_attempt_at, alert_firings.c.id),
        )
        ranked = (
            select(alert_firings.c.id, alert_firings.c.next_attempt_at, nth.label("nth"))
            .where(*due, *skip)
            .subquery()
        )
        chosen = (
            select(ranked.c.id)
            .where(ranked.c.nth <= (limit if per_rule is None else per_rule))
            .order_by(ranked.c.next_attempt_at)
            .limit(limit)
            .scalar_subquery()
        )
        # the conditions again on the UPDATE itself: PostgreSQL re-checks them on a row that
        # another transaction leased meanwhile, so two processes never lease the same firing
        lease = (
            update(alert_firings)
            .where(alert_firings.c.id.in_(chosen), *due)
            .values(lease_until=lease_until, attempts=alert_firings.c.attempts + 1)
            .returning(*alert_firings.c)
        )

        with self._read() as conn:
            # the usual case, and that of a hanging webhook's rule (skipped): no write
            # transaction, which would take SQLite's one writer from ingest for nothing
            if conn.execute(select(alert_firings.c.id).where(*due, *skip).limit(1)).first() is None:
                return []

        def work(conn: Connection) -> list[AlertDelivery]:
            leased = [_firing(r) for r in conn.execute(lease).mappings()]
            if not leased:
                return []
            ids = {f.rule_id for f in leased}
            query = (
                select(alert_rules, projects.c.name.label("project_name"))
                .join_from(alert_rules, projects, projects.c.id == alert_rules.c.project_id)
                .where(alert_rules.c.id.in_(ids))
            )
            rules = {r["id"]: r for r in conn.execute(query).mappings()}
            return [
                AlertDelivery(
                    firing=f,
                    rule=_rule(rules[f.rule_id]),
                    project_name=rules[f.rule_id]["project_name"],
                    attempt=f.attempts,
                )
                for f in leased
                if f.rule_id in rules
            ]

        return self._transact(work)

    def record_alert_attempt(
        self,
        firing_id: str,
        attempt: AlertAttempt,
        retry_at: datetime | None,
    ) -> None:
        """Keep an attempt; the firing is delivered (ok), retried at `retry_at`, or failed
        (no retry_at). Nothing happens if the rule was removed meanwhile."""

        def work(conn: Connection) -> None:
            mine = alert_firings.c.id == firing_id
            if conn.execute(select(alert_firings.c.id).where(mine)).first() is None:
                return
            row = {"firing_id": firing_id, **{k: getattr(attempt, k) for k in _ATTEMPT_FIELDS}}
            statement = insert_ignore(self.dialect, alert_attempts).values(**row)
            conn.execute(statement.on_conflict_do_nothing())
            if attempt.ok:
                values: dict[str, Any] = {"status": DELIVERED, "delivered_at": attempt.at}
            elif retry_at is None:
                values = {"status": FAILED, "next_attempt_at": None}
            else:
                values = {"next_attempt_at": retry_at}
            conn.execute(update(alert_firings).where(mine).values(lease_until=None, **values))

        self._transact(work)

    # --- history -----------------------------------------------------------------------------
    def list_alert_firings(
        self, project_id: str, rule_id: str | None = None, limit: int = 100
    ) -> list[AlertFiring]:
        """The project's firings (of one rule, or all), newest first, each with its attempts."""
        query = (
            select(alert_firings)
            .where(alert_firings.c.project_id == project_id)
            .order_by(alert_firings.c.fired_at.desc(), alert_firings.c.id.desc())
            .limit(limit)
        )
        if rule_id is not None:
            query = query.where(alert_firings.c.rule_id == rule_id)
        with self._read() as conn:
            firings = [_firing(r) for r in conn.execute(query).mappings()]
            history = _attempts(conn, [f.id for f in firings])
        return [_with_history(f, history.get(f.id, [])) for f in firings]


_RULE_FIELDS = (
    "id",
    "project_id",
    "kind",
    "threshold",
    "window_minutes",
    "min_sessions",
    "webhook_url",
    "created_at",
)
_FIRING_FIELDS = (
    "id",
    "rule_id",
    "project_id",
    "occurrence",
    "session_id",
    "fired_at",
    "details",
    "status",
    "attempts",
    "next_attempt_at",
    "delivered_at",
)
_ATTEMPT_FIELDS = ("attempt", "at", "ok", "status_code", "error")


def _rule(row: RowMapping) -> AlertRule:
    return AlertRule(**{k: row[k] for k in (*_RULE_FIELDS, "breached", "episode")})


def _firing(row: RowMapping) -> AlertFiring:
    return AlertFiring(**{k: row[k] for k in _FIRING_FIELDS})


def _with_history(firing: AlertFiring, history: list[AlertAttempt]) -> AlertFiring:
    return AlertFiring(**{k: getattr(firing, k) for k in _FIRING_FIELDS}, history=history)


def _attempts(conn: Connection, firing_ids: Sequence[str]) -> dict[str, list[AlertAttempt]]:
    found: dict[str, list[AlertAttempt]] = {}
    if not firing_ids:
        return found
    query = (
        select(alert_attempts)
        .where(alert_attempts.c.firing_id.in_(firing_ids))
        .order_by(alert_attempts.c.firing_id, alert_attempts.c.attempt)
    )
    for row in conn.execute(query).mappings():
        found.setdefault(row["firing_id"], []).append(
            AlertAttempt(**{k: row[k] for k in _ATTEMPT_FIELDS})
        )
    return found
