"""What a webhook receives: a Slack-compatible `text` line and the structured fields."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from agentops_server.alerts.rules import describe
from agentops_server.storage.alert_records import AlertDelivery, AlertKind


def session_url(base_url: str, project_id: str, session_id: str) -> str:
    return f"{base_url.rstrip('/')}/projects/{project_id}/sessions/{quote(session_id, safe='')}"


def alert_payload(delivery: AlertDelivery, base_url: str) -> dict[str, Any]:
    firing, rule = delivery.firing, delivery.rule
    values = firing.details
    session = None
    if firing.session_id is not None:
        link = session_url(base_url, firing.project_id, firing.session_id)
        session = {"id": firing.session_id, "url": link}
    return {
        "text": alert_text(delivery, session),
        "alert_id": firing.id,
        "occurrence": firing.occurrence,
        "fired_at": firing.fired_at.isoformat(),
        "attempt": delivery.attempt,
        "rule": {
            "id": rule.id,
            "kind": rule.kind,
            "description": describe(rule.kind, rule.threshold, rule.window_minutes),
            "threshold": None if rule.threshold is None else str(rule.threshold),
            "window_minutes": rule.window_minutes,
            "min_sessions": rule.min_sessions,
        },
        "project": {"id": firing.project_id, "name": delivery.project_name},
        "session": session,
        "values": values,
    }


def slack_escape(text: str) -> str:
    """Slack reads <...> as a link or a mention (<!channel>) and & as an entity: names and
    reasons written by users or agents are escaped as Slack's formatting guide says."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def alert_text(delivery: AlertDelivery, session: dict[str, str] | None) -> str:
    """One line for chat: what happened, in which project, and a link to look at it."""
    rule, values = delivery.rule, delivery.firing.details
    kind = AlertKind(rule.kind)
    where = f"[agentops] {slack_escape(delivery.project_name)}:"
    if kind == AlertKind.DAILY_COST:
        return (
            f"{where} the cost of {values['day']} (UTC) reached {values['cost_usd']} USD, "
            f"over the {values['threshold_usd']} USD limit"
        )
    if kind == AlertKind.ERROR_RATE:
        return (
            f"{where} {values['sessions_failed']} of the {values['sessions_ended']} sessions "
            f"that ended in the last {values['window_minutes']} min failed "
            f"({values['error_rate_percent']}%, over {values['threshold_percent']}%)"
        )
    assert session is not None
    name = f"session {slack_escape(session['id'])}"
    if kind == AlertKind.SESSION_FAILED:
        reason = values.get("end_state_reason")
        what = f"{name} failed" + (f": {slack_escape(reason)}" if reason else "")
    elif kind == AlertKind.SESSION_COST:
        what = f"{name} cost {values['cost_usd']} USD, over the {rule.threshold} USD limit"
    elif kind == AlertKind.SESSION_DURATION:
        what = f"{name} ran {values['duration_seconds']:g} s, over the {rule.threshold} s limit"
    else:
        reason = values.get("end_state_reason") or "no end received"
        what = f"{name} never ended ({slack_escape(reason)})"
    return f"{where} {what} <{session['url']}|open>"
