"""Rating calls with the price list of one instant, and naming the prefixes that priced them."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np

from telebill.domain.bulk_rating import BulkRater, CdrColumns, RateStatus, epoch_us
from telebill.domain.catalog.deck import DeckContent, DeckVersion
from telebill.domain.catalog.entries import ALL, Destination, Increments, Tariff, VoiceRate
from telebill.domain.catalog.plans import ConditionKind, PricePlan, Tier
from telebill.domain.catalog.voice_table import VoiceRateTable
from telebill.domain.destination_names import DestinationNames
from telebill.domain.money import Rounding, currency
from telebill.domain.rating_at_instant import BulkRaterAt

JAN = datetime(2026, 1, 1, tzinfo=UTC)
FEB = datetime(2026, 2, 1, tzinfo=UTC)
MAR = datetime(2026, 3, 1, tzinfo=UTC)


def version(effective: datetime, uk_price: str, uk_name: str = "United Kingdom") -> DeckVersion:
    tariff = Tariff(Decimal(uk_price), Decimal(uk_price), Increments.parse("60/60"), Decimal(0),
                    rounding=Rounding.parse("half_up:6"))  # fmt: skip
    return DeckVersion.of(
        "intl",
        currency("EUR"),
        effective,
        DeckContent(VoiceRateTable.of([VoiceRate("44", ALL, Destination(uk_name, "GB"), tariff)])),
    )


VERSIONS = {"intl": [version(JAN, "0.10"), version(FEB, "0.20", "UK")]}
PLAN = PricePlan("p", (Tier(ConditionKind.ALWAYS, "intl"),))


def calls(*starts: datetime) -> CdrColumns:
    n = len(starts)
    return CdrColumns(
        destination=np.full(n, 442079460018, dtype=np.int64),
        origin=np.full(n, -1, dtype=np.int64),
        start_us=np.array([epoch_us(s) for s in starts], dtype=np.int64),
        duration_s=np.full(n, 60, dtype=np.int64),
        answered=np.ones(n, dtype=np.bool_),
    )


def test_each_call_is_priced_with_the_version_in_force_at_its_own_start_by_default() -> None:
    rated = BulkRater(PLAN, VERSIONS).rate(calls(datetime(2025, 12, 31, tzinfo=UTC), JAN, MAR))
    assert rated.status.tolist() == [RateStatus.NO_VERSION, RateStatus.RATED, RateStatus.RATED]
    assert rated.charge[1:].tolist() == [100_000, 200_000]


def test_a_rater_at_one_instant_prices_every_call_with_the_versions_in_force_then() -> None:
    before_any = datetime(2025, 12, 31, tzinfo=UTC)
    at_jan = BulkRaterAt(PLAN, VERSIONS, datetime(2026, 1, 15, tzinfo=UTC)).rate(calls(before_any, JAN, MAR))
    assert at_jan.status.tolist() == [RateStatus.RATED] * 3
    assert at_jan.charge.tolist() == [100_000] * 3
    at_mar = pickle.loads(pickle.dumps(BulkRaterAt(PLAN, VERSIONS, MAR)))
    assert at_mar.rate(calls(before_any, JAN)).charge.tolist() == [200_000, 200_000]
    nothing_yet = BulkRaterAt(PLAN, VERSIONS, before_any).rate(calls(MAR))
    assert nothing_yet.status.tolist() == [RateStatus.NO_VERSION]


def test_a_prefix_is_named_by_the_last_version_that_has_it() -> None:
    names = DestinationNames(VERSIONS["intl"])
    assert names.of("44") == Destination("UK", "GB")
    assert DestinationNames(reversed(VERSIONS["intl"])).of("44") == Destination("United Kingdom", "GB")
    assert names.of("33") is None
    assert names.of("4x") is None
    assert names.label("33") == Destination("prefix 33")
