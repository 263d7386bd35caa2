"""A limit on failed dashboard sign-ins, per client address and per login, in process memory.

After `max_failures` failures within `window` seconds for the same address or the same login,
sign-in answers 429 (without checking the password) until the oldest of those failures leaves
the window; a success clears the address and the login. The counts live in this process only:
with `--workers N` or several replicas each process counts on its own (so up to N times the
limit in total), and a restart forgets them. At most `max_tracked` addresses and logins are
kept (the least recently failing are dropped first), each with at most `max_failures`
timestamps, so memory stays bounded under attack.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Final

from agentops_server.auth.accounts import MAX_LOGIN_LENGTH

MAX_FAILURES: Final = 10
WINDOW_SECONDS: Final = 15 * 60
MAX_TRACKED: Final = 10_000


class SignInLimiter:
    def __init__(
        self,
        *,
        max_failures: int = MAX_FAILURES,
        window: float = WINDOW_SECONDS,
        max_tracked: int = MAX_TRACKED,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self._max_tracked = max_tracked
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}  # oldest first (insertion order)
        self._lock = threading.Lock()

    def attempt(self, address: str, login: str) -> int | None:
        """Seconds to wait when the address or login is over the limit (nothing is counted),
        else None, and the attempt is counted as a failure until `succeeded` clears it:
        concurrent guesses are counted before their passwords are checked."""
        now = self._clock()
        keys = _keys(address, login)
        with self._lock:
            longest = max(self._wait(key, now) for key in keys)
            if longest > 0:
                return math.ceil(longest)
            for key in keys:
                times = self._failures.pop(key, None) or deque(maxlen=self.max_failures)
                times.append(now)
                self._failures[key] = times  # re-inserted last: the most recently active
            while len(self._failures) > self._max_tracked:
                del self._failures[next(iter(self._failures))]
        return None

    def succeeded(self, address: str, login: str) -> None:
        with self._lock:
            for key in _keys(address, login):
                self._failures.pop(key, None)

    def __len__(self) -> int:
        return len(self._failures)

    def _wait(self, key: str, now: float) -> float:
        times = self._failures.get(key)
        if times is None:
            return 0.0
        while times and now - times[0] >= self.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return 0.0
        if len(times) < self.max_failures:
            return 0.0
        return times[0] + self.window - now


def _keys(address: str, login: str) -> tuple[str, str]:
    # a login longer than any account's cannot match one: cut it so a key stays small
    return (f"address:{address[:64]}", f"login:{login.strip().lower()[: MAX_LOGIN_LENGTH + 1]}")
