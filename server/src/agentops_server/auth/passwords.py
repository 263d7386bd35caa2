"""Password hashing with the standard library's scrypt, and generated passwords.

Stored form: ``scrypt$N$r$p$<salt b64>$<hash b64>``, so the cost can be raised later without
invalidating old hashes (verify reads the parameters from the stored string).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Final

from agentops_server.auth.b64 import b64decode, b64encode

SCRYPT_N: Final = 2**14
SCRYPT_R: Final = 8
SCRYPT_P: Final = 1
_DKLEN: Final = 32
MIN_PASSWORD_LENGTH: Final = 8
MAX_PASSWORD_LENGTH: Final = 1024


class PasswordError(ValueError):
    """A password that cannot be accepted; the message says why."""


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordError(f"a password can have at most {MAX_PASSWORD_LENGTH} characters")


def hash_password(password: str) -> str:
    check_password_rules(password)
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return "$".join(
        ["scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), b64encode(salt), b64encode(digest)]
    )


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches `stored`; False for any malformed stored value."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt" or len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, expected = b64decode(parts[4]), b64decode(parts[5])
    except ValueError:
        return False
    if not (2 <= n <= 2**20 and 1 <= r <= 32 and 1 <= p <= 16):
        return False
    return hmac.compare_digest(_scrypt(password, salt, n, r, p), expected)


def generate_password() -> str:
    """A random password for the first admin: 20 URL-safe characters (about 120 bits)."""
    return secrets.token_urlsafe(15)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=_DKLEN, maxmem=256 * 1024 * 1024
    )
