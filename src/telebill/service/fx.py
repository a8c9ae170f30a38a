"""Exchange rates from the ECB reference file: import, and cross rates through EUR.

The rate for a date is the one published on the last business day on or before it (the
ECB publishes only on business days). A cross rate A->B is (B per EUR) / (A per EUR).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal, localcontext

from telebill.domain.errors import NoRate
from telebill.domain.money import Currency
from telebill.service.ports import FxRepository, UnitOfWorkFactory

_EUR = "EUR"


class ExchangeRateService:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow
        self._cache: dict[tuple[str, str, date], Decimal] = {}

    def import_rates(self, rates: Sequence[tuple[date, str, Decimal]]) -> int:
        with self._uow() as uow:
            count = uow.fx.replace(rates)
            uow.commit()
        self._cache.clear()
        return count

    def span(self) -> tuple[date | None, date | None, int]:
        with self._uow() as uow:
            return uow.fx.span()

    def rate(self, source: Currency, target: Currency, at: datetime) -> Decimal:
        if source.code == target.code:
            return Decimal(1)
        day = at.date()
        key = (source.code, target.code, day)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        with self._uow() as uow:
            src = self._per_eur(uow.fx, source.code, day)
            dst = self._per_eur(uow.fx, target.code, day)
        with localcontext() as ctx:
            ctx.prec = 28
            value = dst / src
        self._cache[key] = value
        return value

    @staticmethod
    def _per_eur(repo: FxRepository, code: str, day: date) -> Decimal:
        if code == _EUR:
            return Decimal(1)
        found = repo.per_eur(code, day)
        if found is None:
            raise NoRate(f"no exchange rate for {code} on or before {day.isoformat()} (telebill fx import)")
        return found[1]
