from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from telebill.domain.catalog.entries import Increments
from telebill.domain.charging import CallTariff
from telebill.domain.money import Rounding
from telebill.domain.prepaid import BalanceChange, BillingSettings, NegativePolicy, after_balance_change

tariffs = st.builds(
    CallTariff,
    st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(3), places=4),
    st.builds(Increments, st.sampled_from([1, 6, 30, 60]), st.sampled_from([1, 6, 30, 60])),
    st.decimals(min_value=0, max_value=Decimal("0.1"), places=4),
    st.just(Rounding()),
    st.sampled_from([Decimal(1), Decimal("0.9137"), Decimal("1.1172")]),
)


@given(tariffs, st.integers(0, 50_000_000), st.integers(1, 14_400))
def test_affordable_seconds_is_the_longest_call_the_budget_covers(tariff: CallTariff, budget: int, cap: int) -> None:
    seconds = tariff.affordable_seconds(budget, cap)
    assert 0 <= seconds <= cap
    if seconds:
        assert tariff.cost(seconds) <= budget
    if seconds < cap:
        assert tariff.cost(seconds + 1) > budget


@given(tariffs, st.lists(st.integers(0, 3600), min_size=1, max_size=10))
def test_interim_debits_add_up_to_the_cost_of_the_call(tariff: CallTariff, reports: list[int]) -> None:
    marks = sorted(reports)
    charged = 0
    for used in marks:
        charged += tariff.cost(used) - charged
    assert charged == tariff.cost(marks[-1])


def test_a_low_balance_alert_fires_once_per_crossing() -> None:
    s = BillingSettings(low_balance_threshold=5_000_000)
    first = after_balance_change(s, 6_000_000, 4_000_000)
    assert first.low_balance_alert
    again = after_balance_change(first.settings, 4_000_000, 3_000_000)
    assert not again.low_balance_alert
    rearmed = after_balance_change(again.settings, 3_000_000, 20_000_000, BalanceChange.TOP_UP)
    assert not rearmed.low_balance_alert
    assert after_balance_change(rearmed.settings, 20_000_000, 1_000_000).low_balance_alert


def test_auto_recharge_starts_once_and_never_twice_in_flight() -> None:
    s = BillingSettings(auto_recharge_enabled=True, auto_recharge_threshold=0, auto_recharge_amount=10_000_000)
    first = after_balance_change(s, 100, -5)
    assert first.start_auto_recharge
    assert first.settings.auto_recharge_in_flight
    assert not after_balance_change(first.settings, -5, -50).start_auto_recharge


def test_the_floor_follows_the_negative_balance_policy() -> None:
    assert BillingSettings().floor == 0
    assert BillingSettings(policy=NegativePolicy.ALLOW_NEGATIVE, credit_limit=2_000_000).floor == -2_000_000
