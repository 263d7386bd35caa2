"""Signed, stateless dashboard sessions and the CSRF tokens bound to them.

A cookie holds ``<base64 json>.<base64 hmac>``: the user id (or none before sign-in), a random
session id and the issue time, signed with a key derived from the server secret. The CSRF token
of a form is an HMAC of that session id, so a token from one browser never works in another,
and signing in issues a fresh session id (no fixation).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Final

from agentops_server.auth.b64 import b64decode, b64encode

COOKIE_NAME: Final = "agentops_session"
CSRF_FIELD: Final = "csrf_token"
CSRF_HEADER: Final = "X-CSRF-Token"
MAX_AGE_SECONDS: Final = 14 * 24 * 3600


@dataclass(frozen=True, slots=True)
class CookieSession:
    """What a dashboard cookie says: who (user_id, None when signed out) and which session."""

    session_id: str
    user_id: str | None
    issued_at: int
    stamp: str = ""  # fingerprint of the password hash and sign-in generation (see stamp())


class CookieSigner:
    """Signs and checks dashboard cookies and CSRF tokens with keys derived from one secret."""

    def __init__(self, secret: str | bytes, *, max_age: int = MAX_AGE_SECONDS) -> None:
        raw = secret.encode("utf-8") if isinstance(secret, str) else secret
        if len(raw) < 16:
            raise ValueError("the signing secret must have at least 16 bytes")
        self._cookie_key = hmac.new(raw, b"agentops-dashboard-cookie", hashlib.sha256).digest()
        self._csrf_key = hmac.new(raw, b"agentops-dashboard-csrf", hashlib.sha256).digest()
        self._notice_key = hmac.new(raw, b"agentops-dashboard-notice", hashlib.sha256).digest()
        self.max_age = max_age

    def new_session(self, user_id: str | None, stamp: str = "") -> CookieSession:
        return CookieSession(secrets.token_urlsafe(18), user_id, int(time.time()), stamp)

    def stamp(self, password_hash: str, generation: int = 0) -> str:
        """A short keyed fingerprint of a password hash (the hash itself never leaves) and of
        the account's sign-in generation: a new password or "sign out everywhere" changes it."""
        material = password_hash if generation == 0 else f"{password_hash}\n{generation}"
        digest = hmac.new(self._cookie_key, material.encode(), hashlib.sha256).digest()
        return b64encode(digest)[:16]

    def dumps(self, session: CookieSession) -> str:
        body = json.dumps(
            {
                "sid": session.session_id,
                "uid": session.user_id,
                "iat": session.issued_at,
                "pws": session.stamp,
            },
            separators=(",", ":"),
        ).encode("utf-8")
        encoded = b64encode(body)
        return f"{encoded}.{b64encode(self._mac(encoded))}"

    def loads(self, cookie: str | None, *, now: float | None = None) -> CookieSession | None:
        """The session in a cookie, or None if it is missing, forged, malformed or expired."""
        if not cookie or cookie.count(".") != 1 or len(cookie) > 4096:
            return None
        encoded, mac = cookie.split(".")
        try:
            if not hmac.compare_digest(b64decode(mac), self._mac(encoded)):
                return None
            data = json.loads(b64decode(encoded))
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        sid, uid, iat, stamp = data.get("sid"), data.get("uid"), data.get("iat"), data.get("pws")
        if not isinstance(sid, str) or not isinstance(iat, int) or not isinstance(stamp, str):
            return None
        if uid is not None and not isinstance(uid, str):
            return None
        current = time.time() if now is None else now
        if iat > current + 60 or current - iat > self.max_age:
            return None
        return CookieSession(sid, uid, iat, stamp)

    def csrf_token(self, session: CookieSession) -> str:
        return b64encode(
            hmac.new(self._csrf_key, session.session_id.encode(), hashlib.sha256).digest()
        )

    def check_csrf(self, session: CookieSession | None, token: str | None) -> bool:
        if session is None or not token:
            return False
        return hmac.compare_digest(token.encode("utf-8"), self.csrf_token(session).encode())

    def seal(self, data: dict[str, str]) -> str:
        """A signed (not encrypted) one-time notice, for a cookie that lives a few minutes."""
        body = json.dumps({**data, "iat": str(int(time.time()))}, separators=(",", ":"))
        encoded = b64encode(body.encode("utf-8"))
        mac = hmac.new(self._notice_key, encoded.encode("ascii"), hashlib.sha256).digest()
        return f"{encoded}.{b64encode(mac)}"

    def unseal(self, value: str | None, max_age: int) -> dict[str, str] | None:
        """The notice `seal` made, or None if missing, forged or older than `max_age` s."""
        if not value or value.count(".") != 1 or len(value) > 4096:
            return None
        encoded, mac = value.split(".")
        try:
            expected = hmac.new(self._notice_key, encoded.encode("ascii"), hashlib.sha256)
            if not hmac.compare_digest(b64decode(mac), expected.digest()):
                return None
            data = json.loads(b64decode(encoded))
        except ValueError:
            return None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            return None
        issued = data.pop("iat", "")
        if not issued.isdigit() or abs(time.time() - int(issued)) > max_age:
            return None
        return data

    def _mac(self, encoded: str) -> bytes:
        return hmac.new(self._cookie_key, encoded.encode("ascii"), hashlib.sha256).digest()
