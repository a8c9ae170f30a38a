from datetime import UTC, datetime, timedelta

from telebill.adapters.clock import FrozenClock
from telebill.service.ttl_cache import TtlCache


def test_a_cached_value_is_reloaded_only_after_its_time_to_live() -> None:
    clock = FrozenClock(datetime(2026, 1, 1, tzinfo=UTC))
    cache: TtlCache[str, int] = TtlCache(clock, ttl_s=5)
    loads = iter(range(100))
    assert cache.get("k", lambda: next(loads)) == 0
    clock.advance(timedelta(seconds=4.9))
    assert cache.get("k", lambda: next(loads)) == 0
    clock.advance(timedelta(seconds=0.1))
    assert cache.get("k", lambda: next(loads)) == 1
    cache.invalidate("k")
    assert cache.get("k", lambda: next(loads)) == 2


def test_a_zero_time_to_live_disables_caching() -> None:
    clock = FrozenClock(datetime(2026, 1, 1, tzinfo=UTC))
    cache: TtlCache[str, int] = TtlCache(clock, ttl_s=0)
    loads = iter(range(100))
    assert [cache.get("k", lambda: next(loads)) for _ in range(3)] == [0, 1, 2]
