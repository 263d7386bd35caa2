"""The uncaught exception that is ending the program, found at exit without sys.excepthook.

A hook the program installs after init() may hide the exception from the SDK's own (rich's
`traceback.install()` calls no earlier hook). The interpreter keeps that exception in
sys.last_value before it calls sys.excepthook; others set it too (pytest for every failing
test, IPython for every failing cell, the `code` module's consoles), but only an exception that
ended the program has a traceback that starts in the top-level code of __main__ (after runpy's
frames, for `python -m`).
"""

from __future__ import annotations

import sys
from types import TracebackType

__all__ = ["uncaught_exception"]


def uncaught_exception() -> tuple[BaseException, TracebackType] | None:
    """The exception and its traceback, or None (none, or not one that ended the program)."""
    if hasattr(sys, "ps1") or sys.flags.inspect:  # at the interactive prompt: nothing ends
        return None
    exc = getattr(sys, "last_value", None)
    whole = getattr(sys, "last_traceback", None)
    tb = whole
    while tb is not None and tb.tb_frame.f_globals.get("__name__") == "runpy":
        tb = tb.tb_next
    if not isinstance(exc, BaseException) or tb is None or whole is None:
        return None
    frame = tb.tb_frame
    if frame.f_code.co_name != "<module>" or frame.f_globals.get("__name__") != "__main__":
        return None
    return exc, whole
