"""agentops-server: self-hostable AgentOps ingestion, export API, dashboard and CLI."""

__version__ = "0.1.0"
