"""API keys (project credentials) and session tokens (what create_session hands out)."""
