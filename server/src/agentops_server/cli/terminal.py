"""Stored text made safe to print: agents, dashboard users and webhook receivers write it, so
its control characters are shown as escapes, never obeyed by the terminal."""

from __future__ import annotations

CONTROL_CODES = (*range(0x20), 0x7F, *range(0x80, 0xA0))  # C0, DEL and C1
_SHOWN = {code: f"\\x{code:02x}" for code in CONTROL_CODES}
_JSON_RAW = {code: f"\\u{code:04x}" for code in (0x7F, *range(0x80, 0xA0))}


def visible(text: object) -> str:
    """`text` as a string with each control character written as `\\xNN` (ESC as `\\x1b`)."""
    return str(text).translate(_SHOWN)


def terminal_json(encoded: bytes) -> bytes:
    """UTF-8 JSON with the control characters JSON leaves raw (DEL, C1) as `\\u` escapes: the
    same value, safe on a terminal. Raw ones can only stand inside strings, so this is exact."""
    return encoded.decode("utf-8").translate(_JSON_RAW).encode("utf-8")
