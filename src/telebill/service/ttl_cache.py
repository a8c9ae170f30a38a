"""A small time-bounded cache for hot read paths (credentials, plans, deck versions).

Entries expire by the service clock, so tests move time instead of sleeping. The cache
bounds how stale a read can be: a change made by another process (a plan edited, a key
revoked from the CLI) is seen within `ttl_s`; changes made through the same service
instance invalidate their entries at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from telebill.service.ports import Clock

K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    def __init__(self, clock: Clock, ttl_s: float, max_entries: int = 10_000) -> None:
        self._clock = clock
        self._ttl = timedelta(seconds=ttl_s)
        self._max = max_entries
        self._data: dict[K, tuple[datetime, V]] = {}

    def get(self, key: K, load: Callable[[], V]) -> V:
        if self._ttl <= timedelta(0):
            return load()
        now = self._clock.now()
        hit = self._data.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = load()
        if len(self._data) >= self._max:
            self._data.clear()
        self._data[key] = (now + self._ttl, value)
        return value

    def invalidate(self, key: K | None = None) -> None:
        if key is None:
            self._data.clear()
        else:
            self._data.pop(key, None)
