from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from telebill.domain.catalog.deck import DeckContent, DeckVersion
from telebill.domain.catalog.entries import ALL, Destination, Tariff, VoiceRate
from telebill.domain.catalog.plans import ConditionKind, Override, PricePlan, Tier, quote
from telebill.domain.catalog.voice_table import VoiceRateTable
from telebill.domain.errors import InvalidRate, NoPrice
from telebill.domain.money import currency
from telebill.domain.numbering import parse_number

AT = datetime(2026, 1, 1, tzinfo=UTC)


def deck(name: str, rows: dict[str, str]) -> DeckVersion:
    table = VoiceRateTable.of(
        VoiceRate(p, ALL, Destination(f"{name} {p}"), Tariff(Decimal(v), Decimal(v))) for p, v in rows.items()
    )
    return DeckVersion.of(name, currency("USD"), AT, DeckContent(table))


DECKS = {
    "dom": deck("dom", {"44": "0.01", "33": "0.02"}),
    "eea": deck("eea", {"49": "0.03", "33": "0.04"}),
    "intl": deck("intl", {"44": "0.10", "49": "0.11", "33": "0.12", "81": "0.13"}),
}
PLAN = PricePlan(
    "p",
    (
        Tier(ConditionKind.DOMESTIC, "dom"),
        Tier(ConditionKind.ORIGIN_IN_GROUP, "eea", "EEA"),
        Tier(ConditionKind.ALWAYS, "intl"),
    ),
)


def price(plan: PricePlan, dest: str, origin: str | None) -> tuple[str, Decimal]:
    q = quote(plan, DECKS, parse_number(dest), parse_number(origin) if origin else None)
    return q.deck.deck, q.current_price


def test_domestic_call_uses_the_domestic_deck() -> None:
    assert price(PLAN, "+442079460018", "+447700900123") == ("dom", Decimal("0.01"))


def test_call_from_an_eea_country_uses_the_eea_deck() -> None:
    assert price(PLAN, "+4930123456", "+33612345678") == ("eea", Decimal("0.03"))


def test_domestic_tier_without_a_price_falls_through_to_the_next_tier() -> None:
    assert price(PLAN, "+4930123456", "+4930999999") == ("eea", Decimal("0.03"))


def test_call_from_outside_the_eea_uses_the_international_deck() -> None:
    assert price(PLAN, "+4930123456", "+14155550100") == ("intl", Decimal("0.11"))
    assert price(PLAN, "+81312345678", "+33612345678") == ("intl", Decimal("0.13"))


def test_unknown_origin_uses_only_unconditional_tiers() -> None:
    assert price(PLAN, "+442079460018", None) == ("intl", Decimal("0.10"))


def test_no_tier_prices_the_call_names_what_was_tried() -> None:
    with pytest.raises(NoPrice, match="intl"):
        price(PLAN, "+61212345678", "+14155550100")


def test_percentage_discount_changes_current_price_not_base_price() -> None:
    plan = PricePlan("d", PLAN.tiers, (Override("", percent_off=Decimal(10)),))
    q = quote(plan, DECKS, parse_number("+81312345678"), parse_number("+14155550100"))
    assert q.current_price == Decimal("0.117")
    assert q.base_price == Decimal("0.13")


def test_longest_override_prefix_wins() -> None:
    plan = PricePlan(
        "d",
        PLAN.tiers,
        (Override("", percent_off=Decimal(50)), Override("44", fixed_price=Decimal("0.005"))),
    )
    assert price(plan, "+442079460018", "+14155550100") == ("intl", Decimal("0.005"))
    assert price(plan, "+81312345678", "+14155550100") == ("intl", Decimal("0.065"))


def test_override_needs_exactly_one_adjustment() -> None:
    with pytest.raises(InvalidRate):
        Override("44")
    with pytest.raises(InvalidRate):
        Override("44", percent_off=Decimal(1), fixed_price=Decimal(1))
    with pytest.raises(InvalidRate):
        Override("", percent_off=Decimal(101))


def test_a_group_tier_must_name_a_known_group() -> None:
    with pytest.raises(InvalidRate, match="ASEAN"):
        Tier(ConditionKind.ORIGIN_IN_GROUP, "x", "ASEAN")


def test_deck_version_in_force_is_the_latest_effective_on_or_before_the_instant() -> None:
    from telebill.domain.catalog.deck import version_in_force

    jan, feb = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    versions = [("new", feb), ("old", jan)]  # order of the list does not matter
    assert version_in_force(versions, datetime(2026, 1, 31, 23, 59, 59, tzinfo=UTC)) == "old"
    assert version_in_force(versions, feb) == "new"
    assert version_in_force(versions, datetime(2025, 12, 31, tzinfo=UTC)) is None
