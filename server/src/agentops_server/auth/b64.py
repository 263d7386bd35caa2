"""URL-safe base64 without padding: the text form of tokens, ids, cookies and password hashes."""

from __future__ import annotations

import base64


def b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def b64decode(text: str) -> bytes:
    """The bytes of `text`; ValueError if it is not URL-safe base64."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError("not base64") from exc
