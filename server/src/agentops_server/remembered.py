"""Values worked out once and kept for reuse, within a bound."""

from __future__ import annotations

from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Remembered(dict[K, V], Generic[K, V]):
    """A dict of computed values that forgets everything once it holds `limit` of them: what
    it is keyed on may come from clients and vary without end. Reads are plain dict reads
    (the ingestion hot path); `keep` is the only way in."""

    __slots__ = ("limit",)

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def keep(self, key: K, value: V) -> V:
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value
