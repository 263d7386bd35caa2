"""httpx says every request it sends at INFO ("HTTP Request: POST ... 200 OK") on its `httpx`
logger. A program that logs at INFO would see a line per batch the SDK sends: noise about our
traffic in its own logs. A filter on that logger drops those lines while the SDK's transport
sends, on the sending thread only: the program's own httpx requests, on any thread, are logged
as before, and so is anything httpx says above INFO.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

__all__ = ["quiet_request_logs"]


class _OwnRequests(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self._sending = threading.local()

    @contextlib.contextmanager
    def sending(self) -> Iterator[None]:
        self._sending.active = True
        try:
            yield
        finally:
            self._sending.active = False

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.INFO or not getattr(self._sending, "active", False)


_FILTER = _OwnRequests()


def quiet_request_logs() -> contextlib.AbstractContextManager[None]:
    """Around one of the SDK's requests: httpx's INFO and DEBUG lines about it are dropped."""
    logger = logging.getLogger("httpx")
    if _FILTER not in logger.filters:  # again after a program's logging.config cleared them
        logger.addFilter(_FILTER)
    return _FILTER.sending()
