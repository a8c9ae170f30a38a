"""The bulk rater built from a stored catalog rates like `CatalogService.rate`, across versions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from telebill.bootstrap import Container
from telebill.domain.bulk_rating import CdrColumns, RateStatus, epoch_us
from telebill.domain.catalog.deck import DeckContent
from telebill.domain.catalog.entries import ALL, Destination, Increments, Tariff, VoiceRate
from telebill.domain.catalog.plans import ConditionKind, Override, PricePlan, Tier
from telebill.domain.catalog.voice_table import VoiceRateTable
from telebill.domain.errors import NotFound
from telebill.domain.money import currency, decimal_as_ratio
from telebill.service.bulk_rating import bulk_rater

V1 = datetime(2026, 1, 1, tzinfo=UTC)
V2 = datetime(2026, 2, 1, tzinfo=UTC)


def content(price: str) -> DeckContent:
    tariff = Tariff(Decimal(price), Decimal(price), Increments(30, 6), Decimal("0.01"))
    return DeckContent(VoiceRateTable.of([VoiceRate("44", ALL, Destination("United Kingdom", "GB"), tariff)]))


def test_the_rater_of_a_stored_plan_prices_each_call_with_the_version_in_force(container: Container) -> None:
    catalog = container.catalog
    catalog.import_deck("uk", currency("EUR"), content("0.10"), "test", V1)
    catalog.import_deck("uk", currency("EUR"), content("0.07"), "test", V2)
    catalog.create_plan(PricePlan("plan", (Tier(ConditionKind.ALWAYS, "uk"),), (Override("", Decimal("12.5")),)))
    assert [v.effective_from for v in catalog.deck_versions("uk")] == [V1, V2]
    rater = bulk_rater(catalog, "plan")
    starts = [V1 - timedelta(seconds=1), V1 + timedelta(days=3), V2, V2 + timedelta(days=40)]
    rated = rater.rate(
        CdrColumns(
            destination=np.full(4, 442079460018, dtype=np.int64),
            origin=np.full(4, 33612345678, dtype=np.int64),
            start_us=np.array([epoch_us(s) for s in starts], dtype=np.int64),
            duration_s=np.full(4, 47, dtype=np.int64),
            answered=np.ones(4, dtype=np.bool_),
        )
    )
    assert rated.status[0] == RateStatus.NO_VERSION  # before the deck's first version
    for row, start in enumerate(starts[1:], start=1):
        expected = catalog.rate("+33612345678", "+442079460018", 47, catalog.plan("plan"), start)
        num, den = decimal_as_ratio(expected.amount)
        assert int(rated.charge[row]) == num * 10**6 // den
        assert int(rated.billed_s[row]) == expected.billed_s
        assert rater.rate_text(int(rated.price[row])) == f"{expected.price_per_minute:f}"


def test_a_plan_that_does_not_exist_is_not_found(container: Container) -> None:
    with pytest.raises(NotFound):
        bulk_rater(container.catalog, "nope")
