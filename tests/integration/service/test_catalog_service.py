from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from telebill.bootstrap import Container
from telebill.domain.catalog.deck import DeckContent
from telebill.domain.catalog.entries import (
    ALL,
    ROW,
    Destination,
    InboundPrice,
    InboundType,
    Increments,
    NumberPrice,
    ResourcePrice,
    SmsPrice,
    Tariff,
    VoiceRate,
)
from telebill.domain.catalog.plans import ConditionKind, Override, PricePlan, Tier
from telebill.domain.catalog.voice_table import VoiceRateTable
from telebill.domain.errors import CallBlocked, Conflict, InvalidRate, NoPrice, NotFound
from telebill.domain.money import Rounding, currency


def content(uk_price: str = "0.10") -> DeckContent:
    voice = VoiceRateTable.of(
        [
            VoiceRate("44", ALL, Destination("United Kingdom", "GB"), Tariff(Decimal(uk_price), Decimal(uk_price))),
            VoiceRate(
                "447",
                ROW,
                Destination("United Kingdom - Mobile", "GB"),
                Tariff(
                    Decimal("0.25"),
                    Decimal("0.2000"),
                    Increments(30, 6),
                    Decimal("0.01"),
                    rounding=Rounding.parse("up:4"),
                ),
            ),
            VoiceRate(
                "447",
                "1",
                Destination("United Kingdom - Mobile", "GB"),
                Tariff(Decimal("0.15"), Decimal("0.15")),
            ),
            VoiceRate("1", ALL, Destination("United States", "US"), Tariff(Decimal(0), Decimal(0), free=True)),
            VoiceRate("870", ALL, Destination("Inmarsat", ""), Tariff(Decimal(5), Decimal(5), blocked=True)),
        ]
    )
    return DeckContent(
        voice,
        inbound=(
            InboundPrice("US", InboundType.TOLL_FREE, ALL, Decimal("0.022"), Decimal("0.022")),
            InboundPrice("US", InboundType.TOLL_FREE, "type:mobile", Decimal("0.045"), Decimal("0.045")),
        ),
        sms=(SmsPrice("GB", "", Decimal("0.04"), Decimal("0.04")),),
        numbers=(NumberPrice("GB", "local", "London", Decimal("0"), Decimal("1.15"), Decimal("1.15")),),
        resources=(ResourcePrice("TTS_STANDARD", "character", 1_000_000, Decimal("16"), Decimal("16")),),
    )


def test_an_imported_deck_reads_back_equal(container: Container) -> None:
    original = content()
    container.catalog.import_deck("intl", currency("USD"), original, "test")
    version = container.catalog.deck_version("intl")
    assert list(version.voice) == sorted(original.voice, key=lambda r: (r.prefix, r.origin))
    assert version.inbound == original.inbound
    assert version.sms == original.sms
    assert version.numbers == original.numbers
    assert version.resources == original.resources


def test_versions_are_chosen_by_effective_date(container: Container) -> None:
    jan, feb = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    container.catalog.import_deck("intl", currency("USD"), content("0.10"), "jan", jan)
    container.catalog.import_deck("intl", currency("USD"), content("0.08"), "feb", feb)
    plan = container.catalog.plan_for_deck("intl")
    before = container.catalog.price(["+442079460018"], plan, at=feb - timedelta(microseconds=1))[0]
    after = container.catalog.price(["+442079460018"], plan, at=feb)[0]
    assert before.quote is not None
    assert before.quote.current_price == Decimal("0.10")
    assert after.quote is not None
    assert after.quote.current_price == Decimal("0.08")
    with pytest.raises(NoPrice):
        container.catalog.deck_version("intl", jan - timedelta(days=1))


def test_two_versions_with_the_same_effective_instant_conflict(container: Container) -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    container.catalog.import_deck("intl", currency("USD"), content(), "a", at)
    with pytest.raises(Conflict):
        container.catalog.import_deck("intl", currency("USD"), content(), "b", at)
    assert len(container.catalog.list_decks()[0].versions) == 1


def test_a_deck_keeps_its_currency(container: Container) -> None:
    container.catalog.import_deck("intl", currency("USD"), content(), "a")
    with pytest.raises(Conflict, match="USD"):
        container.catalog.import_deck("intl", currency("EUR"), content(), "b", datetime(2027, 1, 1, tzinfo=UTC))


def test_plans_round_trip_with_tiers_and_overrides(container: Container) -> None:
    container.catalog.import_deck("intl", currency("USD"), content(), "a")
    container.catalog.import_deck("dom", currency("USD"), content(), "a")
    plan = PricePlan(
        "gold",
        (
            Tier(ConditionKind.DOMESTIC, "dom"),
            Tier(ConditionKind.ORIGIN_IN_GROUP, "intl", "EEA"),
            Tier(ConditionKind.ALWAYS, "intl"),
        ),
        (Override("", percent_off=Decimal("12.5")), Override("44", fixed_price=Decimal("0.0099"))),
    )
    container.catalog.create_plan(plan)
    assert container.catalog.plan("gold") == plan
    assert [p.name for p in container.catalog.list_plans()] == ["gold"]
    with pytest.raises(Conflict):
        container.catalog.create_plan(plan)


def test_a_plan_cannot_name_a_missing_deck_or_mix_currencies(container: Container) -> None:
    with pytest.raises(NotFound):
        container.catalog.create_plan(PricePlan("p", (Tier(ConditionKind.ALWAYS, "nope"),)))
    container.catalog.import_deck("usd", currency("USD"), content(), "a")
    container.catalog.import_deck("eur", currency("EUR"), content(), "a")
    with pytest.raises(InvalidRate, match="mixes"):
        container.catalog.create_plan(
            PricePlan("p", (Tier(ConditionKind.DOMESTIC, "eur"), Tier(ConditionKind.ALWAYS, "usd")))
        )


def test_rating_a_call_explains_entry_increments_and_rounding(container: Container) -> None:
    container.catalog.import_deck("intl", currency("USD"), content(), "a")
    plan = container.catalog.plan_for_deck("intl")
    # ROW entry: 30/6 increments, fee 0.01, rounding up to 4 decimals: 0.01 + 0.2 * 36/60 = 0.13
    charge = container.catalog.rate("+33612345678", "+447400123456", 31, plan)
    assert (charge.amount, charge.billed_s) == (Decimal("0.1300"), 36)
    assert charge.quote.entry.origin == ROW
    from_us = container.catalog.rate("+14155550100", "+447400123456", 31, plan)
    assert (from_us.amount, from_us.quote.entry.origin) == (Decimal("0.150000"), "1")
    assert any("30/6" in line for line in charge.explain())


def test_free_and_blocked_destinations(container: Container) -> None:
    container.catalog.import_deck("intl", currency("USD"), content(), "a")
    plan = container.catalog.plan_for_deck("intl")
    assert container.catalog.rate("+447400123456", "+14155550100", 600, plan).amount == 0
    with pytest.raises(CallBlocked):
        container.catalog.rate("+447400123456", "+870772001234", 60, plan)


def test_inbound_toll_free_costs_more_from_a_mobile(container: Container) -> None:
    from telebill.domain.numbering import parse_number

    container.catalog.import_deck("intl", currency("USD"), content(), "a")
    version = container.catalog.deck_version("intl")
    toll_free = parse_number("+18005550100")
    assert version.inbound_price(toll_free, parse_number("+12025550123")).current_price == Decimal("0.022")
    mobile = parse_number("+447400123456")
    assert version.inbound_price(toll_free, mobile).current_price == Decimal("0.045")


def test_sms_price_uses_the_destination_country(container: Container) -> None:
    from telebill.domain.numbering import parse_number

    container.catalog.import_deck("intl", currency("USD"), content(), "a")
    version = container.catalog.deck_version("intl")
    assert version.sms_price(parse_number("+447400123456")).current_price == Decimal("0.04")
    with pytest.raises(NoPrice):
        version.sms_price(parse_number("+33612345678"))
