"""Session tokens: the opaque `jwt` create_session hands out, signed with HMAC-SHA256.

A token names the project and the session it was issued for, whether it re-attached to an
existing session (an inherited session from another process), and the id of the API key that
minted it. It has no expiry: the agentops 0.3 client never refreshes its token, so a token stays
valid as long as its session exists and its key is not revoked (api/deps.py checks that).
Tokens minted before key ids were added have three fields and no key id (`key_id` None).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from agentops_server.auth.b64 import b64decode, b64encode
from agentops_server.auth.signatures import signature as signature_of
from agentops_server.auth.signatures import signature_matches
from agentops_server.config import PRIVATE_DIR_MODE, SECRET_FILENAME, ServerConfig

_VERSION = "aos1"


@dataclass(frozen=True, slots=True)
class TokenClaims:
    project_id: str
    session_id: str
    attached: bool  # issued by re-attaching to a session another process created
    key_id: str | None = None  # the API key that minted it; None in tokens from before key ids


class InvalidToken(Exception):
    """The token is malformed or its signature does not match."""


class TokenSigner:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def issue(self, claims: TokenClaims) -> str:
        fields = [claims.project_id, claims.session_id, "1" if claims.attached else "0"]
        if claims.key_id is not None:
            fields.append(claims.key_id)
        body = "\n".join(fields)
        encoded = b64encode(body.encode())
        return f"{_VERSION}.{encoded}.{signature_of(self._secret, encoded)}"

    def verify(self, token: str) -> TokenClaims:
        version, _, rest = token.strip().partition(".")
        encoded, _, signature = rest.partition(".")
        if version != _VERSION or not encoded or not signature:
            raise InvalidToken("malformed session token")
        if not signature_matches(signature, signature_of(self._secret, encoded)):
            raise InvalidToken("session token signature does not match")
        try:
            fields = _unb64(encoded).decode().split("\n")
        except ValueError:
            raise InvalidToken("malformed session token") from None
        if len(fields) == 3:  # minted before tokens carried their key's id
            return TokenClaims(fields[0], fields[1], fields[2] == "1")
        if len(fields) == 4 and fields[3]:
            return TokenClaims(fields[0], fields[1], fields[2] == "1", fields[3])
        raise InvalidToken("malformed session token")

    def derived_key(self, purpose: str) -> bytes:
        """A key for another kind of signed id (e.g. time-travel ids), so that no id of one
        kind is ever accepted as another."""
        return hmac.new(self._secret, f"agentops-{purpose}".encode(), hashlib.sha256).digest()


def load_secret(config: ServerConfig) -> bytes:
    """config.secret_key, else the secret in data_dir/secret.key, generated (mode 0600) once.

    Replicas sharing one database must share the secret: set AGENTOPS_SECRET_KEY on each.
    """
    if config.secret_key:
        return config.secret_key.encode()
    path = config.data_dir / SECRET_FILENAME
    if not path.exists():
        _create_secret_file(path)
    secret = path.read_text().strip()
    if not secret:
        raise OSError(f"token secret file {path} is empty: delete it to generate a new one")
    return secret.encode()


def _create_secret_file(path: Path) -> None:
    """Write a new secret atomically; if another process won the race, keep theirs."""
    path.parent.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)


def _unb64(text: str) -> bytes:
    try:
        return b64decode(text)
    except ValueError:
        raise InvalidToken("malformed session token") from None
