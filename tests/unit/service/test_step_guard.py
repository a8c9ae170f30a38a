"""The guard of a charging step that read its account without locks (service/step_guard.py):
whenever the available credit the step leaves is at least the bound, the step's decisions on
its snapshot are the decisions it would have made on the true balance."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from telebill.domain.prepaid import BillingSettings, NegativePolicy, after_balance_change
from telebill.service.step_guard import NO_BOUND, least_available

UNARMED = BillingSettings(low_balance_threshold=5_000_000, low_balance_alerted=True)


def test_a_hold_must_still_fit_above_the_floor() -> None:
    assert least_available(UNARMED, 10_000_000, 9_979_000, covered=True) == 0


def test_under_allow_negative_the_floor_is_the_credit_limit_below_zero() -> None:
    settings = replace(UNARMED, policy=NegativePolicy.ALLOW_NEGATIVE, credit_limit=2_000_000)
    assert least_available(settings, 10_000_000, 9_979_000, covered=True) == -2_000_000


def test_a_charge_of_consumed_time_needs_no_floor() -> None:
    assert least_available(UNARMED, 10_000_000, 9_979_000, covered=False) == NO_BOUND


def test_spending_must_stay_above_an_armed_alert_threshold() -> None:
    settings = replace(UNARMED, low_balance_alerted=False)
    assert least_available(settings, 10_000_000, 9_979_000, covered=True) == 5_000_001


def test_spending_must_stay_above_an_armed_auto_recharge_threshold() -> None:
    settings = replace(
        UNARMED, auto_recharge_enabled=True, auto_recharge_threshold=7_000_000, auto_recharge_amount=10_000_000
    )
    assert least_available(settings, 10_000_000, 9_979_000, covered=False) == 7_000_001


def test_a_recharge_in_flight_sets_no_bound() -> None:
    settings = replace(
        UNARMED,
        auto_recharge_enabled=True,
        auto_recharge_threshold=7_000_000,
        auto_recharge_amount=10_000_000,
        auto_recharge_in_flight=True,
    )
    assert least_available(settings, 10_000_000, 9_979_000, covered=False) == NO_BOUND


def test_credit_given_back_crosses_no_threshold_whatever_the_balance() -> None:
    settings = replace(UNARMED, low_balance_alerted=False)
    assert least_available(settings, 1_000_000, 1_021_000, covered=False) == NO_BOUND


def test_a_snapshot_that_crosses_a_threshold_is_decided_with_locks() -> None:
    settings = replace(UNARMED, low_balance_alerted=False)
    assert least_available(settings, 5_010_000, 4_989_000, covered=True) is None


def test_a_snapshot_below_the_floor_is_decided_with_locks() -> None:
    assert least_available(UNARMED, 10_000, -11_000, covered=True) is None


amounts = st.integers(min_value=-50_000_000, max_value=50_000_000)
thresholds = st.integers(min_value=0, max_value=50_000_000)


@given(
    threshold=thresholds,
    alerted=st.booleans(),
    recharge=st.booleans(),
    in_flight=st.booleans(),
    declined=st.booleans(),
    spent=st.booleans(),
    recharge_threshold=thresholds,
    negative=st.booleans(),
    limit=st.integers(min_value=0, max_value=50_000_000),
    before=amounts,
    change=amounts,
    covered=st.booleans(),
    true_before=amounts,
)
def test_above_the_bound_the_true_balance_sets_off_nothing_and_covers_the_step(
    threshold: int,
    alerted: bool,
    recharge: bool,
    in_flight: bool,
    declined: bool,
    spent: bool,
    recharge_threshold: int,
    negative: bool,
    limit: int,
    before: int,
    change: int,
    covered: bool,
    true_before: int,
) -> None:
    settings = BillingSettings(
        policy=NegativePolicy.ALLOW_NEGATIVE if negative else NegativePolicy.CUT_OFF,
        credit_limit=limit,
        low_balance_threshold=threshold,
        low_balance_alerted=alerted,
        auto_recharge_enabled=recharge,
        auto_recharge_threshold=recharge_threshold,
        auto_recharge_amount=1_000_000,
        auto_recharge_in_flight=in_flight,
        auto_recharge_declined=declined,
        auto_recharge_spent=spent,
    )
    least = least_available(settings, before, before + change, covered=covered)
    true_after = true_before + change  # the step's own change does not depend on the balance
    if least is None or true_after < least:
        return
    events = after_balance_change(settings, true_before, true_after)
    assert not events.low_balance_alert
    assert not events.start_auto_recharge
    assert events.settings == settings
    if covered:
        assert true_after >= settings.floor
