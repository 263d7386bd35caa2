"""`python -m agentops_server` runs the `agentops` CLI."""

from agentops_server.cli import main

main()
