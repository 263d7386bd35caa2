"""Persistence: the only package with SQL. `store.Store` is the contract, `records` its data;
`sql_store.open_store(url)` opens it on SQLite or PostgreSQL (after `migrate.upgrade(url)`);
`batcher.WriteBatcher` coalesces concurrent appends; `transfer` moves data between engines."""
