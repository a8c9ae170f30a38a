"""A customer's statement: every movement of its credit, newest first, with the balance after
each, page by page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prepaid_account import UK_MOBILE, US_LINE

from telebill.adapters.clock import FrozenClock
from telebill.bootstrap import Container
from telebill.domain.accounts import Account
from telebill.domain.errors import InvalidInput
from telebill.domain.ledger import TransferKind
from telebill.domain.money import currency
from telebill.service.call_admission import CallRequest


def test_each_line_shows_the_balance_after_it_and_the_lines_add_up_to_the_balance(
    demo_container: Container, acme: Account, clock: FrozenClock
) -> None:
    c = demo_container
    c.credits.top_up(acme, "10.00", "t1")
    c.charging.authorize(acme, CallRequest("c1", US_LINE, UK_MOBILE))
    clock.advance(timedelta(seconds=60))
    c.charging.usage(acme, "c1", 60)
    clock.advance(timedelta(seconds=35))
    c.charging.end(acme, "c1", 95, answered=True)
    c.credits.top_up(acme, "2.50", "t2")

    st = c.ledger.statement(acme.sid, "USD")
    now = c.credits.balance(acme)
    assert (st.balance, st.holds, st.more) == (now.balance, now.holds, False)
    kinds = [line.transfer.kind for line in st.lines]
    assert kinds == [
        TransferKind.POSTED,  # the second top-up
        TransferKind.POST_PENDING,  # the end settles the second hold
        TransferKind.PENDING,  # the second interval held
        TransferKind.POST_PENDING,  # the usage report settles the first hold
        TransferKind.PENDING,  # the first interval held
        TransferKind.POSTED,  # the first top-up
    ]
    assert [line.amount for line in st.lines] == [2_500_000, -21_000, 0, -21_000, 0, 10_000_000]
    assert st.lines[0].balance == now.balance == 12_500_000 - 42_000
    for newer, older in zip(st.lines, st.lines[1:], strict=False):
        assert older.balance == newer.balance - newer.amount
        assert older.holds == newer.holds - newer.held
    assert st.lines[-1].balance - st.lines[-1].amount == 0
    assert sum(line.amount for line in st.lines) == now.balance
    assert sum(line.held for line in st.lines) == now.holds == 0
    assert st.lines[2].held > 0
    assert st.lines[1].held == -st.lines[2].held


def test_pages_follow_each_other_and_keep_the_balances_of_the_whole_statement(
    demo_container: Container, acme: Account
) -> None:
    c = demo_container
    for i in range(5):
        c.credits.top_up(acme, f"{i + 1}.00", f"t{i}")
    whole = c.ledger.statement(acme.sid, "USD")
    pages, before = [], None
    while True:
        page = c.ledger.statement(acme.sid, "USD", limit=2, before=before)
        pages.extend(page.lines)
        if not page.more:
            break
        before = page.lines[-1].transfer.id
    assert pages == whole.lines
    assert [line.balance for line in pages] == [15_000_000, 10_000_000, 6_000_000, 3_000_000, 1_000_000]


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_pages_of_calls_whose_settlements_post_twice_to_the_account_add_up_to_the_whole(
    demo_container: Container, acme: Account, limit: int
) -> None:
    c = demo_container
    c.credits.top_up(acme, "10.00", "t1")
    for i, seconds in enumerate([95, 0, 30, 61]):
        call_id = f"call-{i}"
        assert c.charging.authorize(acme, CallRequest(call_id, US_LINE, UK_MOBILE)).allowed
        c.charging.end(acme, call_id, seconds, seconds > 0)
    whole = c.ledger.statement(acme.sid, "USD")
    pages, before = [], None
    while True:
        page = c.ledger.statement(acme.sid, "USD", limit=limit, before=before)
        assert len(page.lines) <= limit
        pages.extend(page.lines)
        if not page.more:
            break
        before = page.lines[-1].transfer.id
    assert pages == whole.lines
    # the top-up; each call's hold and its settlement; the two calls longer than their hold, the rest
    assert len(whole.lines) == 1 + 4 * 2 + 2
    assert sum(line.amount for line in whole.lines) == c.credits.balance(acme).balance


def test_a_page_cannot_start_at_another_accounts_entry(demo_container: Container, acme: Account) -> None:
    c = demo_container
    other = c.accounts.create_account("other", currency("USD"), "demo").account
    c.credits.update_settings(other, {"billing_address": "1 Main St"})
    c.credits.top_up(other, "1.00", "o1")
    c.credits.top_up(acme, "1.00", "a1")
    theirs = c.ledger.statement(other.sid, "USD").lines[0].transfer.id
    with pytest.raises(InvalidInput, match=f"^before: {theirs} is not an entry of this account"):
        c.ledger.statement(acme.sid, "USD", before=theirs)
    assert c.ledger.statement(other.sid, "EUR").lines == []
    with pytest.raises(InvalidInput, match="limit"):
        c.ledger.statement(acme.sid, "USD", limit=0)
