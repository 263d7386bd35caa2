"""Project tokens: what `POST /v3/auth/token` hands the agentops 0.4 client for its OTLP exports.

A token names the project and the API key that minted it, signed with HMAC-SHA256 under a key
derived from the server secret (so no session token or other signed id is ever accepted as
one). Like session tokens it has no expiry: agentops 0.4 never refreshes it; revoking the key
cuts it off (checked through the same short-lived cache as session tokens).
"""

from __future__ import annotations

from dataclasses import dataclass

from agentops_server.auth.b64 import b64decode, b64encode
from agentops_server.auth.signatures import signature as signature_of
from agentops_server.auth.signatures import signature_matches
from agentops_server.auth.tokens import TokenSigner

PREFIX = "aot1"


@dataclass(frozen=True, slots=True)
class ProjectClaims:
    project_id: str
    key_id: str


class InvalidProjectToken(Exception):
    """Not a project token, or its signature does not match."""


class ProjectTokenSigner:
    def __init__(self, signer: TokenSigner) -> None:
        self._key = signer.derived_key("project-token")

    def issue(self, claims: ProjectClaims) -> str:
        encoded = b64encode(f"{claims.project_id}\n{claims.key_id}".encode())
        return f"{PREFIX}.{encoded}.{signature_of(self._key, encoded)}"

    def verify(self, token: str) -> ProjectClaims:
        prefix, _, rest = token.strip().partition(".")
        encoded, _, signature = rest.partition(".")
        if prefix != PREFIX or not encoded or not signature:
            raise InvalidProjectToken("malformed token")
        if not signature_matches(signature, signature_of(self._key, encoded)):
            raise InvalidProjectToken("token signature does not match")
        try:
            project_id, key_id = b64decode(encoded).decode().split("\n")
        except ValueError:
            raise InvalidProjectToken("malformed token") from None
        return ProjectClaims(project_id, key_id)


def is_project_token(value: str) -> bool:
    return value.startswith(PREFIX + ".")
