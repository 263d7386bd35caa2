"""Why a request body was refused; the message is shown to the client in the 400 or 415."""

from __future__ import annotations

__all__ = ["Undecodable", "UnsupportedMediaType"]


class Undecodable(ValueError):
    """The body is not a valid OTLP request of the expected kind; says what and where."""


class UnsupportedMediaType(ValueError):
    """The content type is neither application/x-protobuf nor application/json."""
