"""Rules and firings as JSON: one shape for the REST API, the CLI and the dashboard."""

from __future__ import annotations

from typing import Any

from agentops_server.alerts.payload import session_url
from agentops_server.alerts.rules import describe
from agentops_server.storage.alert_records import AlertFiring, AlertRule


def rule_json(rule: AlertRule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "project_id": rule.project_id,
        "kind": rule.kind,
        "description": describe(rule.kind, rule.threshold, rule.window_minutes),
        "threshold": None if rule.threshold is None else str(rule.threshold),
        "window_minutes": rule.window_minutes,
        "min_sessions": rule.min_sessions,
        "webhook_url": rule.webhook_url,
        "created_at": rule.created_at.isoformat(),
    }


def firing_json(firing: AlertFiring, base_url: str) -> dict[str, Any]:
    link = None
    if firing.session_id is not None:
        link = session_url(base_url, firing.project_id, firing.session_id)
    return {
        "id": firing.id,
        "rule_id": firing.rule_id,
        "occurrence": firing.occurrence,
        "session_id": firing.session_id,
        "session_url": link,
        "fired_at": firing.fired_at.isoformat(),
        "status": firing.status,
        "attempts": firing.attempts,
        "next_attempt_at": _next_attempt(firing),
        "delivered_at": None if firing.delivered_at is None else firing.delivered_at.isoformat(),
        "values": firing.details,
        "history": [
            {
                "attempt": a.attempt,
                "at": a.at.isoformat(),
                "ok": a.ok,
                "status_code": a.status_code,
                "error": a.error,
            }
            for a in firing.history
        ],
    }


def _next_attempt(firing: AlertFiring) -> str | None:
    if firing.status != "pending" or firing.next_attempt_at is None:
        return None
    return firing.next_attempt_at.isoformat()


def alerts_page(
    rules: list[AlertRule], firings: list[AlertFiring], base_url: str
) -> dict[str, Any]:
    """The dashboard's alerts page (and its JSON twin): the rules and the latest firings."""
    return {
        "data": {
            "rules": [rule_json(r) for r in rules],
            "history": [firing_json(f, base_url) for f in firings],
        }
    }
