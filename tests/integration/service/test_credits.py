"""Top-ups and credit settings (CreditService): bounds that keep ledger sums exact, replays
compared by amount, and what the payment provider allows."""

from __future__ import annotations

import pytest
from tests.conftest import T0

from telebill.adapters.payments import ManualPayments, ScriptedPayments
from telebill.bootstrap import Container
from telebill.domain.accounts import Account, Principal, Role
from telebill.domain.errors import Forbidden, IdempotencyConflict, InvalidInput
from telebill.domain.ledger import AccountKind, TransferKind
from telebill.domain.money import currency
from telebill.service import credits, ledger


@pytest.fixture
def acme(container: Container) -> Account:
    acct = container.accounts.create_account("acme", currency("USD"), None).account
    container.credits.update_settings(acct, {"billing_address": "1 Main St"})
    return acct


def test_a_replayed_top_up_matches_by_amount_not_by_its_spelling(container: Container, acme: Account) -> None:
    first = container.credits.top_up(acme, "25.00", "k1")
    again = container.credits.top_up(acme, "25", "k1")
    assert (again.replayed, again.balance.balance) == (True, first.balance.balance)
    with pytest.raises(IdempotencyConflict):
        container.credits.top_up(acme, "25.01", "k1")


def test_a_top_up_past_what_an_account_may_be_credited_is_refused_before_the_provider_charges(
    container: Container, acme: Account, payments: ScriptedPayments, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the real bound is 10^18 micros; a small one shows the rule without a thousand top-ups
    monkeypatch.setattr(credits, "MAX_CUSTOMER_CREDIT_MICROS", 30_000_000)
    container.credits.top_up(acme, "20.00", "k1")
    with pytest.raises(InvalidInput, match="ledger"):
        container.credits.top_up(acme, "10.01", "k2")
    assert [c[3] for c in payments.charges] == [f"{acme.sid}:k1"]
    assert container.credits.top_up(acme, "10.00", "k3").balance.balance == 30_000_000
    # the bound is the customer's own: other customers' top-ups pile up on the platform's
    # clearing account without refusing anyone
    other = container.accounts.create_account("other", currency("USD"), None).account
    container.credits.update_settings(other, {"billing_address": "2 Main St"})
    assert container.credits.top_up(other, "25.00", "k1").payment_status == "succeeded"
    assert container.ledger.verify().ok


def test_the_ledger_refuses_a_transfer_whose_sums_would_pass_what_storage_holds(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ledger, "MAX_STORED_MICROS", 250)  # in place of 2^63 - 1
    with container.credits._uow() as uow:
        book = ledger.Ledger(uow.ledger, T0)
        a = book.platform(AccountKind.PAYMENTS_CLEARING, "USD")
        b = book.platform(AccountKind.REVENUE, "USD", "voice")
        book.transfer("t1", TransferKind.POSTED, a.id, b.id, 200, "USD", "test")
        with pytest.raises(InvalidInput, match="would hold more than 250"):
            book.transfer("t2", TransferKind.POSTED, a.id, b.id, 51, "USD", "test")
        book.transfer("t3", TransferKind.POSTED, a.id, b.id, 50, "USD", "test")
        uow.commit()
    assert container.ledger.verify().ok


def test_a_recharge_amount_must_be_payable_in_the_account_currency(container: Container, acme: Account) -> None:
    with pytest.raises(InvalidInput, match="2 decimals"):
        container.credits.update_settings(acme, {"auto_recharge_amount": "10.005"})
    with pytest.raises(InvalidInput, match="at most"):
        container.credits.update_settings(acme, {"credit_limit": "1000000000.000001"})
    with pytest.raises(InvalidInput, match="positive"):
        container.credits.update_settings(acme, {"auto_recharge_enabled": True, "auto_recharge_amount": "0"})
    on = container.credits.update_settings(acme, {"auto_recharge_enabled": True, "auto_recharge_amount": "10.00"})
    assert (on.settings.auto_recharge_enabled, on.settings.auto_recharge_amount) == (True, 10_000_000)
    # thresholds and limits are not paid: micro-units are fine there
    assert container.credits.update_settings(acme, {"credit_limit": "2.505"}).settings.credit_limit == 2_505_000


@pytest.mark.parametrize("payments", [ManualPayments()])
def test_auto_recharge_needs_a_provider_that_charges_the_customer(container: Container, acme: Account) -> None:
    with pytest.raises(InvalidInput, match="cannot charge the customer"):
        container.credits.update_settings(acme, {"auto_recharge_enabled": True, "auto_recharge_amount": "10.00"})
    # a recharge already on its way (switched on under another provider) is declined, not minted
    result = container.credits.top_up(acme, "10.00", "auto-1", source="auto")
    assert (result.payment_status, result.balance.balance) == ("declined", 0)
    assert container.credits.balance(acme).settings.auto_recharge_declined


@pytest.mark.parametrize("payments", [ManualPayments()])
def test_with_the_built_in_provider_only_the_operator_adds_funds(container: Container, acme: Account) -> None:
    for role in Role:
        with pytest.raises(Forbidden):
            container.credits.top_up(acme, "5.00", f"by-{role.value}", by=Principal(acme, role))
    assert container.credits.top_up(acme, "5.00", "operator").balance.balance == 5_000_000
