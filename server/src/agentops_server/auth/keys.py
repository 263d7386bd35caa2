"""Project API keys: UUID strings shown once, stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from agentops_server.storage.records import ApiKey
from agentops_server.storage.store import Store

PREFIX_LENGTH = 8


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A freshly created key: `secret` is the only copy of the key itself."""

    secret: str
    record: ApiKey


def hash_key(key: str) -> str:
    """The stored hash of a key. Keys are UUIDs, which the 0.3 client sends as the user wrote
    them: every spelling of one (upper case, no hyphens, braces) is the same key."""
    text = key.strip()
    try:
        text = str(uuid.UUID(text))
    except ValueError:
        text = text.lower()
    return hashlib.sha256(text.encode("ascii", "replace")).hexdigest()


def is_key_format(key: str) -> bool:
    """Whether `key` looks like a UUID, the only format the agentops 0.3 client accepts."""
    try:
        uuid.UUID(key.strip())
    except ValueError:
        return False
    return True


def issue_key(store: Store, project_id: str, label: str = "") -> IssuedKey:
    """Create a new key for a project and return it with its stored record."""
    secret = str(uuid.uuid4())
    record = store.create_api_key(project_id, hash_key(secret), secret[:PREFIX_LENGTH], label)
    return IssuedKey(secret=secret, record=record)


def lookup_key(store: Store, key: str) -> ApiKey | None:
    """The stored, unrevoked key matching `key`, or None if it is malformed, unknown or revoked."""
    if not is_key_format(key):
        return None
    found = store.find_api_key(hash_key(key))
    if found is None or found.revoked_at is not None:
        return None
    return found
