"""Alerts: rules per project, evaluated in the background, delivered to webhooks once per
occurrence (see docs/alerts.md)."""
