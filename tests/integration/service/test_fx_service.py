from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from telebill.adapters.clock import FrozenClock
from telebill.adapters.fx.ecb_csv import read_ecb_csv
from telebill.bootstrap import Container, bootstrap
from telebill.config import Settings
from telebill.domain.errors import NoRate
from telebill.domain.money import currency

ECB = Path(__file__).resolve().parents[3] / "src" / "telebill" / "data" / "ecb-eurofxref.csv"


@pytest.fixture
def rates(container: Container) -> Container:
    with ECB.open(encoding="utf-8") as fh:
        container.fx.import_rates(read_ecb_csv(fh, str(ECB)))
    return container


def test_a_weekend_takes_the_previous_business_days_rate(rates: Container) -> None:
    saturday = datetime(2026, 10, 24, 15, tzinfo=UTC)
    friday_usd = Decimal("1.1193")  # 2026-10-23 in the ECB file
    assert _row("2026-10-23", "USD") == str(friday_usd)
    assert rates.fx.rate(currency("EUR"), currency("USD"), saturday) == friday_usd


def test_cross_rates_go_through_the_euro(rates: Container) -> None:
    at = datetime(2026, 10, 30, tzinfo=UTC)
    usd, gbp = Decimal(_row("2026-10-30", "USD")), Decimal(_row("2026-10-30", "GBP"))
    assert rates.fx.rate(currency("USD"), currency("GBP"), at) == gbp / usd
    assert rates.fx.rate(currency("GBP"), currency("EUR"), at) == 1 / gbp
    assert rates.fx.rate(currency("JPY"), currency("JPY"), at) == 1


def test_no_rate_before_the_first_published_day_or_for_an_unlisted_currency(rates: Container) -> None:
    with pytest.raises(NoRate):
        rates.fx.rate(currency("EUR"), currency("USD"), datetime(2020, 1, 1, tzinfo=UTC))
    with pytest.raises(NoRate, match="KWD"):
        rates.fx.rate(currency("EUR"), currency("KWD"), datetime(2026, 10, 30, tzinfo=UTC))


def test_importing_the_same_days_again_replaces_them(rates: Container) -> None:
    before = rates.fx.span()
    fixed = "Date,USD,\n2026-10-30,1.5,\n"
    rates.fx.import_rates(read_ecb_csv(io.StringIO(fixed), "fix.csv"))
    assert rates.fx.span() == before
    assert rates.fx.rate(currency("EUR"), currency("USD"), datetime(2026, 10, 30, tzinfo=UTC)) == Decimal("1.5")


def test_a_rate_imported_by_another_process_is_used_within_a_minute(
    rates: Container, database_url: str, clock: FrozenClock
) -> None:
    eur, usd = currency("EUR"), currency("USD")
    at = datetime(2026, 10, 30, 9, tzinfo=UTC)
    published = Decimal(_row("2026-10-30", "USD"))
    assert rates.fx.rate(eur, usd, at) == published
    cli = bootstrap(Settings(database_url=database_url), clock)  # `telebill fx import`, another process
    try:
        cli.fx.import_rates(read_ecb_csv(io.StringIO("Date,USD,\n2026-10-30,1.5,\n"), "fix.csv"))
    finally:
        cli.close()
    clock.advance(timedelta(seconds=59))
    assert rates.fx.rate(eur, usd, at) == published  # still cached: charging asks on every call
    clock.advance(timedelta(seconds=1))
    assert rates.fx.rate(eur, usd, at) == Decimal("1.5")


def _row(day: str, code: str) -> str:
    import csv

    with ECB.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["Date"] == day:
                return row[code]
    raise AssertionError(day)
