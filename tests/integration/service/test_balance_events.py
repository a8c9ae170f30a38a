"""What a balance change sets off (credits.balance_events): a low-balance alert and an
auto-recharge, each once per crossing of its threshold, as outbox messages whose money reads
like the API's. The demo plan charges 0.0210 a minute to a UK mobile, 60/60."""

from __future__ import annotations

from decimal import Decimal

from prepaid_account import UK_MOBILE, US_LINE

from telebill.adapters.payments import ScriptedPayments
from telebill.bootstrap import Container
from telebill.domain.accounts import Account
from telebill.service.call_admission import CallRequest
from telebill.service.ports import OutboxRow


def call(c: Container, account: Account, seconds: int, answered: bool = True) -> None:
    call_id = f"call-{len(c.charging.history(account, limit=1000))}"
    assert c.charging.authorize(account, CallRequest(call_id, US_LINE, UK_MOBILE)).allowed
    c.charging.end(account, call_id, seconds, answered)


def recharge_below(c: Container, account: Account, threshold: str, amount: str) -> None:
    """Auto-recharge on: `amount` whenever spending takes the balance to `threshold` or below."""
    c.credits.update_settings(
        account, {"auto_recharge_enabled": True, "auto_recharge_threshold": threshold, "auto_recharge_amount": amount}
    )


def outbox(c: Container, account: Account, topic: str) -> list[OutboxRow]:
    assert c.units is not None
    with c.units() as uow:
        return [row for row in uow.billing.outbox_of(account.sid) if row.topic == topic]


def micros(text: str) -> int:
    return int(Decimal(text) * 1_000_000)


def test_unanswered_calls_of_an_account_just_above_the_threshold_alert_once(
    demo_container: Container, acme: Account
) -> None:
    c = demo_container
    c.credits.top_up(acme, "5.01", "t1")  # the default threshold is 5.00
    for _ in range(3):
        call(c, acme, 0, answered=False)  # each hold dips below the threshold, its release lifts back above
    assert c.credits.balance(acme).available == micros("5.01")
    assert len(outbox(c, acme, "balance.low")) == 1
    c.credits.top_up(acme, "1.00", "t2")  # credit above the threshold: re-armed
    call(c, acme, 60 * 48)  # 6.01 - 1.008 = 5.002: still above
    assert len(outbox(c, acme, "balance.low")) == 1
    call(c, acme, 60)  # 4.981: the next crossing
    assert len(outbox(c, acme, "balance.low")) == 2


def test_an_auto_recharge_too_small_to_lift_the_balance_above_its_threshold_starts_once_per_crossing(
    demo_container: Container, acme: Account, payments: ScriptedPayments
) -> None:
    c = demo_container
    c.credits.top_up(acme, "12.00", "t1")
    recharge_below(c, acme, "10.00", "1.00")
    call(c, acme, 60 * 100)  # 12.00 - 2.10 = 9.90: the crossing
    assert c.notifications.run_once().recharged == 1  # 10.90
    call(c, acme, 60 * 100)  # 8.80: a second crossing, the recharge lifted it above
    assert c.notifications.run_once().recharged == 1  # 9.80: at or below, so spent
    assert c.credits.balance(acme).settings.auto_recharge_spent
    for _ in range(3):
        call(c, acme, 60)  # debits while the balance never rose above the threshold
        call(c, acme, 0, answered=False)  # a released hold changes nothing either
        assert c.notifications.run_once().recharged == 0
    assert len(outbox(c, acme, "auto_recharge")) == 2
    c.credits.top_up(acme, "0.50", "t2")  # 10.237: above again, re-armed
    call(c, acme, 60 * 12)  # 9.985: the next crossing
    assert c.notifications.run_once().recharged == 1
    assert [charge[1] for charge in payments.charges if ":auto_recharge:" in charge[3]] == [Decimal("1.00")] * 3
    assert c.ledger.verify().ok


def test_money_in_balance_messages_is_written_like_the_api(demo_container: Container, acme: Account) -> None:
    c = demo_container
    c.credits.top_up(acme, "5.21", "t1")
    call(c, acme, 60 * 9)  # 5.021
    recharge_below(c, acme, "5.50", "10.00")
    assert c.charging.authorize(acme, CallRequest("last", US_LINE, UK_MOBILE)).allowed  # its hold: 5.000
    (alert,) = outbox(c, acme, "balance.low")
    (recharge,) = outbox(c, acme, "auto_recharge")
    assert (alert.payload["available"], alert.payload["threshold"]) == ("5.00", "5.00")
    assert (recharge.payload["available"], recharge.payload["threshold"]) == ("5.00", "5.50")  # the one crossed
    assert recharge.payload["amount"] == "10.00"


def test_new_auto_recharge_terms_re_arm_a_recharge_spent_on_this_crossing(
    demo_container: Container, acme: Account
) -> None:
    c = demo_container
    c.credits.top_up(acme, "10.50", "t1")
    recharge_below(c, acme, "10.00", "0.10")
    call(c, acme, 60 * 30)  # 10.50 - 0.63 = 9.87: the crossing
    assert c.notifications.run_once().recharged == 1  # 9.97: still at or below, so spent
    assert c.credits.balance(acme).settings.auto_recharge_spent
    raised = c.credits.update_settings(acme, {"auto_recharge_amount": "5.00"})  # the customer fixes the amount
    assert not raised.settings.auto_recharge_spent
    call(c, acme, 60)  # 9.949: still below, and now armed again
    assert c.notifications.run_once().recharged == 1
    assert c.credits.balance(acme).balance == micros("14.949")
