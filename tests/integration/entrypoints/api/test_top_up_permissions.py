"""Who may add funds through `POST /v1/accounts/{sid}/topups`, through a real uvicorn server.

A customer adds funds only through a payment provider that takes the money from them (the
test container's provider stands for a card processor), and only as admin or manager. The
built-in provider records payments received by other means: through it only the operator
(its bearer token) may add funds, or nobody would pay for the credit.
"""

from __future__ import annotations

import httpx
import pytest
from tests.conftest import OPERATOR_TOKEN, LiveServer
from tests.integration.entrypoints.api.test_billing_api import account, client, key_of, ok, path

from telebill.adapters.payments import ManualPayments, ScriptedPayments
from telebill.domain.accounts import Role


def top_up(c: httpx.Client, server: LiveServer, amount: str, key: str, who: str = "acme") -> httpx.Response:
    return c.post(path(server, who, "/topups"), json={"amount": amount}, headers={"Idempotency-Key": key})


def operator(server: LiveServer) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"}, timeout=20)


def with_billing_address(server: LiveServer, who: str = "acme") -> None:
    with client(server, who) as c:
        ok(c.patch(path(server, who), json={"billing_address": "1 Main St"}))


def test_a_member_key_cannot_add_funds_even_through_a_card_processor(
    live_server: LiveServer, payments: ScriptedPayments
) -> None:
    with_billing_address(live_server)
    with client(live_server, auth=key_of(live_server, "acme", Role.MEMBER)) as member:
        r = top_up(member, live_server, "25.00", "m-1")
        assert r.status_code == 403, r.text
        assert "admin or manager" in r.json()["message"]
    with client(live_server, auth=key_of(live_server, "acme", Role.MANAGER)) as manager:
        assert ok(top_up(manager, live_server, "25.00", "m-2"))["account"]["balance"] == "25.00"
    assert [charge[3].split(":")[1] for charge in payments.charges] == ["m-2"]  # the member's charged nobody


@pytest.mark.parametrize("payments", [ManualPayments()])
def test_with_the_built_in_provider_an_account_cannot_credit_itself(live_server: LiveServer) -> None:
    with_billing_address(live_server)
    with client(live_server) as owner:
        r = top_up(owner, live_server, "1000000.00", "free-money")
        assert r.status_code == 403, r.text
        assert "operator" in r.json()["message"]
        assert account(owner, live_server)["balance"] == "0.00"
        # a parent recording a payment for its sub-account would mint credit just the same
        ok(owner.patch(path(live_server, "acme_sub"), json={"billing_address": "2 Main St"}))
        assert top_up(owner, live_server, "5.00", "for-sub", "acme_sub").status_code == 403


@pytest.mark.parametrize("payments", [ManualPayments()])
def test_the_operator_records_a_payment_with_its_token(live_server: LiveServer) -> None:
    with_billing_address(live_server)
    with operator(live_server) as op:
        first = ok(top_up(op, live_server, "25.00", "bank-1"))
        again = ok(top_up(op, live_server, "25", "bank-1"))  # the same amount, written otherwise
        assert (first["status"], first["account"]["balance"], again["replayed"]) == ("succeeded", "25.00", True)
        assert top_up(op, live_server, "26.00", "bank-1").status_code == 409
        r = op.post(path(live_server, "acme", "/topups").replace("AC", "AC0", 1), json={"amount": "1.00"},
                    headers={"Idempotency-Key": "bank-2"})  # fmt: skip
        assert r.status_code == 404, r.text
    with httpx.Client(base_url=live_server.base_url, headers={"Authorization": "Bearer not-the-token"}) as wrong:
        assert top_up(wrong, live_server, "25.00", "bank-3").status_code == 401
    with client(live_server) as owner:
        assert account(owner, live_server)["balance"] == "25.00"


def test_amounts_too_large_for_the_ledger_are_refused_before_anyone_is_charged(
    live_server: LiveServer, payments: ScriptedPayments
) -> None:
    with_billing_address(live_server)
    with client(live_server) as owner:
        for amount in ("1000000000.01", "99999999999999", "1E+20"):
            r = top_up(owner, live_server, amount, f"big-{amount}")
            assert r.status_code == 400, (amount, r.text)
            assert r.json()["error"] == "InvalidInput"
        assert ok(top_up(owner, live_server, "1000000000.00", "largest"))["account"]["balance"] == "1000000000.00"
        assert account(owner, live_server)["balance"] == "1000000000.00"
    assert len(payments.charges) == 1
