"""HMAC-SHA256 signatures of the text part of tokens and ids, and their constant-time check.

Both take any text a client sends: a signature with non-ASCII characters is simply wrong (the
standard library's compare_digest refuses such strings with a TypeError instead)."""

from __future__ import annotations

import hashlib
import hmac

from agentops_server.auth.b64 import b64encode


def signature(key: bytes, text: str, size: int = hashlib.sha256().digest_size) -> str:
    """The first `size` bytes of HMAC-SHA256(key, text), as URL-safe base64."""
    digest = hmac.new(key, text.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
    return b64encode(digest[:size])


def signature_matches(given: str, expected: str) -> bool:
    """Whether `given` is `expected`, in time that does not depend on where they differ."""
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )
