"""Exchange rates from the ECB reference file: import, and cross rates through EUR.

The rate for a date is the one published on the last business day on or before it (the
ECB publishes only on business days). A cross rate A->B is (B per EUR) / (A per EUR).

Rates are cached, for at most `cache_ttl_s` by the service clock: charging asks for a rate on
every call, and `telebill fx import` run in another process (the day's rates, a correction)
must still reach a running server within that time. An import through this instance clears
the cache at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal, localcontext

from telebill.domain.errors import NoRate
from telebill.domain.money import Currency
from telebill.service.ports import Clock, FxRepository, UnitOfWorkFactory
from telebill.service.ttl_cache import TtlCache

_EUR = "EUR"


class ExchangeRateService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, cache_ttl_s: float = 60.0) -> None:
        self._uow = uow
        # keyed by day, not instant: one entry serves every call of the day until it expires
        self._cache: TtlCache[tuple[str, str, date], Decimal] = TtlCache(clock, cache_ttl_s)

    def import_rates(self, rates: Sequence[tuple[date, str, Decimal]]) -> int:
        with self._uow() as uow:
            count = uow.fx.replace(rates)
            uow.commit()
        self._cache.invalidate()
        return count

    def span(self) -> tuple[date | None, date | None, int]:
        with self._uow() as uow:
            return uow.fx.span()

    def rate(self, source: Currency, target: Currency, at: datetime) -> Decimal:
        if source.code == target.code:
            return Decimal(1)
        day = at.date()
        return self._cache.get((source.code, target.code, day), lambda: self._load(source.code, target.code, day))

    def _load(self, source: str, target: str, day: date) -> Decimal:
        with self._uow() as uow:
            src = self._per_eur(uow.fx, source, day)
            dst = self._per_eur(uow.fx, target, day)
        with localcontext() as ctx:
            ctx.prec = 28
            return dst / src

    @staticmethod
    def _per_eur(repo: FxRepository, code: str, day: date) -> Decimal:
        if code == _EUR:
            return Decimal(1)
        found = repo.per_eur(code, day)
        if found is None:
            raise NoRate(f"no exchange rate for {code} on or before {day.isoformat()} (telebill fx import)")
        return found[1]
