"""The `agentops` logger and capture_internal_errors(): SDK failures never reach the agent.

Every piece of SDK code that runs inside user code sits under capture_internal_errors(). What
it swallows is logged on the `agentops` logger (at DEBUG, so silent unless asked for) and
handed to an optional hook, which the test-suite uses to fail any test that swallowed one.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Final

logger: Final = logging.getLogger("agentops")

InternalErrorHook = Callable[[BaseException], None]
_hook: InternalErrorHook | None = None
_warned: set[str] = set()
_warned_lock = threading.Lock()
_PREFIX: Final = "🖇 AgentOps: "


class AgentOpsError(Exception):
    """Base class of the exceptions the SDK raises on purpose (a Configuration built by hand)."""


class ConfigurationError(AgentOpsError, ValueError):
    """A bad value passed to init()/configure()/Configuration."""


def set_internal_error_hook(hook: InternalErrorHook | None) -> InternalErrorHook | None:
    """Install `hook`, called with every internal error swallowed; returns the previous hook."""
    global _hook
    previous, _hook = _hook, hook
    return previous


def report_internal_error(exc: BaseException, where: str) -> None:
    """Log a swallowed internal error and hand it to the hook (never raises)."""
    try:
        logger.debug("internal error in %s: %r", where, exc, exc_info=exc)
        if _hook is not None:
            _hook(exc)
    except Exception:  # the hook or logging itself failed: nothing more can be done
        pass


@contextmanager
def capture_internal_errors(where: str = "agentops") -> Iterator[None]:
    """Swallow any Exception raised inside the block (not KeyboardInterrupt/SystemExit)."""
    try:
        yield
    except Exception as exc:
        report_internal_error(exc, where)


def first_time(key: str) -> bool:
    """True the first time `key` is seen in this process (for what is said once)."""
    with _warned_lock:
        if key in _warned:
            return False
        _warned.add(key)
        return True


def warn_once(key: str, message: str, *args: object) -> None:
    """Log a warning the first time `key` is seen in this process."""
    if first_time(key):
        logger.warning(message, *args)


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        prefix = "(DEBUG) " if record.levelno == logging.DEBUG else ""
        return f"{_PREFIX}{prefix}{text}"


_handler_installed = False


def setup_logging(level: str | int | None, to_file: bool = False) -> None:
    """Attach one stderr handler to the `agentops` logger (once) and set its level."""
    global _handler_installed
    if not _handler_installed:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
        _handler_installed = True
        if to_file:
            try:  # an unwritable ./agentops.log costs the log file, never the session
                file_handler = logging.FileHandler("agentops.log", mode="w", encoding="utf-8")
            except OSError as exc:
                logger.warning("Could not open agentops.log (%s); logging to stderr only", exc)
            else:
                file_handler.setFormatter(
                    logging.Formatter("%(asctime)s - %(levelname)s - %(message)s")
                )
                logger.addHandler(file_handler)
    if level is not None:
        logger.setLevel(level)


def failure_reason(exc: BaseException) -> str:
    """0.3's end_state_reason for an exception: "<message>: <traceback>"."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return f"{exc}: {text}"
