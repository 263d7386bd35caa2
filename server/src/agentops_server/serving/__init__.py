"""How `agentops serve` runs: a supervisor process that owns the listening socket and worker
processes that serve it; SIGHUP replaces the workers one by one without closing the socket."""
