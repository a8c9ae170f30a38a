"""Low-balance alerts and auto-recharge fire once per crossing of their threshold (amounts in micros)."""

from __future__ import annotations

from dataclasses import replace

from telebill.domain.prepaid import BalanceChange, BillingSettings, after_balance_change

TOP_UP, AUTO = BalanceChange.TOP_UP, BalanceChange.AUTO_RECHARGE


def test_a_released_hold_does_not_re_arm_the_low_balance_alert() -> None:
    s = BillingSettings(low_balance_threshold=5_000_000)
    hold = after_balance_change(s, 5_500_000, 4_500_000)
    assert hold.low_balance_alert
    released = after_balance_change(hold.settings, 4_500_000, 5_500_000)  # an unanswered call's hold voided
    assert released.settings == hold.settings
    assert not after_balance_change(released.settings, 5_500_000, 4_500_000).low_balance_alert


def test_the_low_balance_alert_is_re_armed_only_by_credit_lifting_the_balance_above_the_threshold() -> None:
    s = after_balance_change(BillingSettings(low_balance_threshold=5_000_000), 6_000_000, 4_000_000).settings
    to_the_threshold = after_balance_change(s, 4_000_000, 5_000_000, TOP_UP)
    assert to_the_threshold.settings.low_balance_alerted
    assert not after_balance_change(to_the_threshold.settings, 5_000_000, 4_000_000).low_balance_alert
    above = after_balance_change(s, 4_000_000, 5_000_001, TOP_UP)
    assert not above.settings.low_balance_alerted
    assert after_balance_change(above.settings, 5_000_001, 5_000_000).low_balance_alert


def test_an_auto_recharge_that_leaves_the_balance_at_its_threshold_is_spent_for_the_crossing() -> None:
    s = BillingSettings(
        low_balance_threshold=0, auto_recharge_enabled=True, auto_recharge_threshold=10_000_000,
        auto_recharge_amount=1_000_000,
    )  # fmt: skip
    crossing = after_balance_change(s, 12_000_000, 9_000_000)
    assert crossing.start_auto_recharge
    # the worker's top-up clears the in-flight flag before it tells the rules about the credit
    settled = replace(crossing.settings, auto_recharge_in_flight=False)
    landed = after_balance_change(settled, 9_000_000, 10_000_000, AUTO)
    assert landed.settings.auto_recharge_spent
    assert not landed.start_auto_recharge
    s = landed.settings
    for before, after in [(10_000_000, 9_000_000), (9_000_000, 11_000_000), (11_000_000, 8_000_000)]:
        step = after_balance_change(s, before, after)  # debits, and a released hold above the threshold
        assert not step.start_auto_recharge
        s = step.settings
    lifted = after_balance_change(s, 8_000_000, 10_000_001, TOP_UP)
    assert not lifted.settings.auto_recharge_spent
    assert after_balance_change(lifted.settings, 10_000_001, 9_000_000).start_auto_recharge


def test_an_auto_recharge_that_lifts_the_balance_above_its_threshold_re_arms_it() -> None:
    s = BillingSettings(auto_recharge_enabled=True, auto_recharge_threshold=10_000_000, auto_recharge_amount=5_000_000)
    landed = after_balance_change(s, 9_000_000, 14_000_000, AUTO)
    assert not landed.settings.auto_recharge_spent
    assert after_balance_change(landed.settings, 14_000_000, 10_000_000).start_auto_recharge


def test_a_declined_auto_recharge_blocks_it_until_turned_on_again_then_it_retries() -> None:
    s = BillingSettings(
        auto_recharge_enabled=True, auto_recharge_threshold=10_000_000, auto_recharge_amount=5_000_000,
        auto_recharge_declined=True,
    )  # fmt: skip
    assert not after_balance_change(s, 9_000_000, 8_000_000).start_auto_recharge
    turned_on = replace(s, auto_recharge_declined=False)
    assert after_balance_change(turned_on, 8_000_000, 7_000_000).start_auto_recharge
