"""agentops 0.4's `agentops.sdk` package path: its decorators live in agentops.sdk.decorators."""
