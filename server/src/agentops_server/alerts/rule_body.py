"""A rule as the REST API takes it: a JSON object whose shape depends on its kind. The JSON
Schema below is what the OpenAPI document states; `rule_from_json` accepts exactly that."""

from __future__ import annotations

from typing import Any

from agentops_server.alerts.rules import (
    MAX_DURATION_SECONDS,
    MAX_MIN_SESSIONS,
    MAX_THRESHOLD,
    MAX_URL_LENGTH,
    MAX_WINDOW_MINUTES,
    WEBHOOK_PATTERN,
    InvalidRule,
    parse_rule,
)
from agentops_server.storage.alert_records import AlertKind, AlertRuleWrite

FIELDS = ("kind", "webhook_url", "threshold", "window_minutes", "min_sessions")
_NULL = {"type": "null"}
_URL = {
    "type": "string",
    "maxLength": MAX_URL_LENGTH,
    "pattern": WEBHOOK_PATTERN,
    "description": "http:// or https:// URL that receives a JSON POST per alert",
}


def _variant(kinds: list[str], threshold: dict[str, Any] | None, rate: bool) -> dict[str, Any]:
    def whole(top: int, default: int) -> dict[str, Any]:
        number = {"type": "integer", "minimum": 1, "maximum": top}
        return {"anyOf": [number, _NULL], "description": f"default {default}"} if rate else _NULL

    return {
        "type": "object",
        "properties": {
            "kind": {"type": "string", "enum": kinds},
            "webhook_url": _URL,
            "threshold": threshold or _NULL,
            "window_minutes": whole(MAX_WINDOW_MINUTES, 60),
            "min_sessions": whole(MAX_MIN_SESSIONS, 5),
        },
        "required": ["kind", "webhook_url", *(["threshold"] if threshold else [])],
        "additionalProperties": False,
    }


RULE_BODY_SCHEMA: dict[str, Any] = {
    "title": "AlertRuleBody",
    "oneOf": [
        _variant([AlertKind.SESSION_FAILED.value, AlertKind.SESSION_UNENDED.value], None, False),
        _variant(
            [AlertKind.SESSION_COST.value, AlertKind.DAILY_COST.value],
            {"type": "number", "exclusiveMinimum": 0, "maximum": int(MAX_THRESHOLD),
             "description": "USD"},
            False,
        ),
        _variant(
            [AlertKind.SESSION_DURATION.value],
            {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_DURATION_SECONDS,
             "description": "seconds (1 day at most)"},
            False,
        ),
        _variant(
            [AlertKind.ERROR_RATE.value],
            {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 100,
             "description": "percent of the sessions ended in the window that failed"},
            True,
        ),
    ],
}  # fmt: skip


def rule_from_json(project_id: str, body: Any) -> AlertRuleWrite:
    if not isinstance(body, dict):
        raise InvalidRule("the body must be a JSON object with kind and webhook_url")
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise InvalidRule(f"unknown field(s) {', '.join(unknown)}: a rule has {', '.join(FIELDS)}")
    kind, url = body.get("kind"), body.get("webhook_url")
    if not isinstance(kind, str):
        raise InvalidRule("kind is required: a string")
    if not isinstance(url, str):
        raise InvalidRule("webhook_url is required: a string")
    threshold = body.get("threshold")
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, int | float)
    ):
        raise InvalidRule(f"threshold must be a JSON number, got {threshold!r}")
    return parse_rule(
        project_id,
        kind,
        threshold,
        url,
        window_minutes=_integer("window_minutes", body.get("window_minutes")),
        min_sessions=_integer("min_sessions", body.get("min_sessions")),
    )


def _integer(name: str, value: Any) -> int | None:
    """A JSON integer (5.0 is one too), or None."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise InvalidRule(f"{name} must be a whole number, got {value!r}")
