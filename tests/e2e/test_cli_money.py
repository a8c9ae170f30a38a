"""The operator's prepaid commands as real processes: `accounts settings`, `topup`, `numbers`,
`ledger verify`."""

from __future__ import annotations

import json

from e2e_cli import Telebill


def new_account(telebill: Telebill, currency: str = "USD") -> str:
    created = json.loads(telebill.run("accounts", "create", "--name", "acme", "--currency", currency, "--json").stdout)
    sid: str = created["sid"]
    return sid


def settings(telebill: Telebill, sid: str, *changes: str) -> dict[str, object]:
    shown: dict[str, object] = json.loads(telebill.run("accounts", "settings", sid, *changes).stdout)
    return shown


def test_the_operator_sets_a_billing_address_then_records_a_payment_once(telebill: Telebill) -> None:
    sid = new_account(telebill)
    refused = telebill.fails("topup", sid, "25.00")
    assert "billing address" in refused.stderr
    shown = settings(telebill, sid, "billing_address=1 Main St", "low_balance_threshold=2.50")
    assert (shown["billing_address"], shown["low_balance_threshold"], shown["balance"]) == ("1 Main St", "2.50", "0.00")

    first = json.loads(telebill.run("topup", sid, "25.00", "--idempotency-key", "bank-1", "--json").stdout)
    again = json.loads(telebill.run("topup", sid, "25", "--idempotency-key", "bank-1", "--json").stdout)
    assert (first["balance"], first["replayed"], again["balance"], again["replayed"]) == ("25.00", False, "25.00", True)
    assert "was used for another top-up" in telebill.fails("topup", sid, "30.00", "--idempotency-key", "bank-1").stderr
    assert settings(telebill, sid)["balance"] == "25.00"
    assert "ledger OK" in telebill.run("ledger", "verify").stdout


def test_bad_settings_change_nothing_and_name_the_setting(telebill: Telebill) -> None:
    sid = new_account(telebill)
    before = settings(telebill, sid)
    assert "policy" in telebill.fails("accounts", "settings", sid, "credit_limit=5.00", "policy=bogus").stderr
    assert "suspended" in telebill.fails("accounts", "settings", sid, "suspended=maybe").stderr
    assert "NAME=VALUE" in telebill.fails("accounts", "settings", sid, "billing_address").stderr
    # the built-in provider takes no money from the customer: it cannot run auto-recharge
    refused = telebill.fails("accounts", "settings", sid, "auto_recharge_enabled=true", "auto_recharge_amount=10.00")
    assert "cannot charge the customer" in refused.stderr
    assert settings(telebill, sid) == before
    assert "was not found" in telebill.fails("accounts", "settings", "AC" + "0" * 32).stderr


def test_numbers_are_attached_and_listed(telebill: Telebill) -> None:
    sid = new_account(telebill)
    assert "international calling on" in telebill.run("numbers", "add", sid, "+14155550100", "--international").stdout
    telebill.run("numbers", "add", sid, "+14155550111")
    listed = telebill.run("numbers", "list", sid).stdout.splitlines()
    assert sorted(listed) == ["+14155550100\tinternational=on", "+14155550111\tinternational=off"]


def test_an_account_in_a_currency_without_exchange_rates_is_refused_naming_the_currency(demo: Telebill) -> None:
    refused = demo.fails("accounts", "create", "--name", "kw", "--currency", "KWD", "--plan", "demo")
    assert "currency: plan 'demo' is priced in USD, and no exchange rate for KWD" in refused.stderr
    assert "KWD" not in demo.run("accounts", "list").stdout


def test_the_statement_lists_each_payment_with_the_balance_after_it(telebill: Telebill) -> None:
    sid = new_account(telebill)
    settings(telebill, sid, "billing_address=1 Main St")
    telebill.run("topup", sid, "25.00", "--idempotency-key", "bank-1")
    telebill.run("topup", sid, "5", "--idempotency-key", "bank-2")
    page = json.loads(telebill.run("ledger", "statement", sid, "--json", "--limit", "1").stdout)
    assert (page["balance"], page["holds"], page["available"]) == ("30.00", "0.00", "30.00")
    [newest] = page["entries"]
    assert (newest["kind"], newest["amount"], newest["balance"], newest["holds"]) == ("posted", "5.00", "30.00", "0.00")
    assert page["next_before"] == newest["id"]
    older = telebill.run("ledger", "statement", sid, "--before", str(newest["id"])).stdout.splitlines()
    assert older[0] == f"{sid} USD: balance 30.00, holds 0.00, available 30.00"
    assert older[1].split("\t")[:6] == ["id", "created_at", "kind", "amount", "held", "balance"]
    assert older[2].split("\t")[2:6] == ["posted", "25.00", "0.00", "25.00"]
    assert len(older) == 3
    assert (
        "before: 999999 is not an entry of this account"
        in telebill.fails("ledger", "statement", sid, "--before", "999999").stderr
    )
