"""Time-travel ids: signed, expiring names of one session's recorded LLM calls.

The agentops 0.3 client fetches `GET /v2/ttd/{ttd_id}` without any credential, so the id itself
is the credential: it names the API key that minted it and the session, with an expiry, signed
with a key derived from the server secret (never valid as a session token). The key is checked
when the id is used, so revoking it cuts the id off too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from agentops_server.auth.b64 import b64decode, b64encode
from agentops_server.auth.signatures import signature as signature_of
from agentops_server.auth.signatures import signature_matches

_VERSION: Final = "ttd1"
_SIGNATURE_BYTES: Final = 16
LIFETIME_SECONDS: Final = 7 * 24 * 3600


@dataclass(frozen=True, slots=True)
class TtdClaims:
    key_id: str
    session_id: str
    expires_at: int  # unix seconds


class InvalidTtdId(Exception):
    """The id is malformed or its signature does not match (it was not minted here)."""


class TtdIds:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def issue(self, claims: TtdClaims) -> str:
        body = "\n".join((claims.key_id, claims.session_id, str(claims.expires_at)))
        encoded = b64encode(body.encode())
        return f"{_VERSION}.{encoded}.{signature_of(self._key, encoded, _SIGNATURE_BYTES)}"

    def verify(self, ttd_id: str) -> TtdClaims:
        version, _, rest = ttd_id.partition(".")
        encoded, _, signature = rest.partition(".")
        if version != _VERSION or not encoded or not signature or len(ttd_id) > 512:
            raise InvalidTtdId("not a time-travel id of this server")
        if not signature_matches(signature, signature_of(self._key, encoded, _SIGNATURE_BYTES)):
            raise InvalidTtdId("not a time-travel id of this server (signature mismatch)")
        try:
            key_id, session_id, expires_at = _unb64(encoded).decode().split("\n")
            return TtdClaims(key_id, session_id, int(expires_at))
        except ValueError:
            raise InvalidTtdId("malformed time-travel id") from None


def _unb64(text: str) -> bytes:
    try:
        return b64decode(text)
    except ValueError:
        raise InvalidTtdId("malformed time-travel id") from None
