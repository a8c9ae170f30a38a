"""Ledger invariants under random sequences of transfers, on the real database."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import T0

from telebill.bootstrap import Container
from telebill.domain.errors import Conflict, IdempotencyConflict, InsufficientFunds
from telebill.domain.ledger import AccountKind, Balance, TransferKind
from telebill.service.ledger import Floor, Ledger
from telebill.service.ports import UnitOfWork


def uow_of(container: Container) -> UnitOfWork:
    factory = container.credits._uow
    return factory()


def test_a_replayed_key_returns_the_original_and_changed_content_is_refused(container: Container) -> None:
    with uow_of(container) as uow:
        ledger = Ledger(uow.ledger, T0)
        a = ledger.platform(AccountKind.PAYMENTS_CLEARING, "USD")
        b = ledger.platform(AccountKind.REVENUE, "USD", "voice")
        first = ledger.transfer("k1", TransferKind.POSTED, a.id, b.id, 100, "USD", "test")
        assert ledger.transfer("k1", TransferKind.POSTED, a.id, b.id, 100, "USD", "test").id == first.id
        with pytest.raises(IdempotencyConflict):
            ledger.transfer("k1", TransferKind.POSTED, a.id, b.id, 101, "USD", "test")
        uow.commit()
    assert container.ledger.verify().ok


def test_a_hold_is_settled_once_and_never_for_more_than_it_holds(container: Container) -> None:
    with uow_of(container) as uow:
        ledger = Ledger(uow.ledger, T0)
        a = ledger.platform(AccountKind.PAYMENTS_CLEARING, "USD")
        b = ledger.platform(AccountKind.REVENUE, "USD", "voice")
        hold = ledger.transfer("h", TransferKind.PENDING, a.id, b.id, 500, "USD", "hold")
        with pytest.raises(ValueError, match="cannot post"):
            ledger.transfer("p0", TransferKind.POST_PENDING, a.id, b.id, 501, "USD", "post", pending_id=hold.id)
        ledger.transfer("p1", TransferKind.POST_PENDING, a.id, b.id, 200, "USD", "post", pending_id=hold.id)
        with pytest.raises(Conflict, match="already settled"):
            ledger.transfer("v1", TransferKind.VOID_PENDING, a.id, b.id, 0, "USD", "void", pending_id=hold.id)
        balances = uow.ledger.lock([a.id, b.id])
        assert balances[a.id].balance == Balance(debits_posted=200)
        assert balances[b.id].balance == Balance(credits_posted=200)
        uow.commit()
    assert container.ledger.verify().ok


def test_a_transfer_between_currencies_is_refused(container: Container) -> None:
    with uow_of(container) as uow:
        ledger = Ledger(uow.ledger, T0)
        usd = ledger.platform(AccountKind.PAYMENTS_CLEARING, "USD")
        eur = ledger.platform(AccountKind.REVENUE, "EUR", "voice")
        with pytest.raises(Conflict):
            ledger.transfer("x", TransferKind.POSTED, usd.id, eur.id, 1, "USD", "mixed")


@dataclass(frozen=True)
class Step:
    kind: str  # posted | hold | post | void
    source: int
    target: int
    amount: int


steps = st.lists(
    st.builds(
        Step,
        st.sampled_from(["posted", "hold", "post", "void"]),
        st.integers(0, 2),
        st.integers(0, 2),
        st.integers(1, 5_000_000),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(steps)
def test_random_transfers_keep_every_invariant_and_the_floor(container: Container, plan: list[Step]) -> None:
    """Each transfer balances, cached balances equal the fold of postings, and the customer
    account's available balance never goes below its floor through a hold or a charge."""
    with uow_of(container) as uow:
        uow.ledger.conn.exec_driver_sql("DELETE FROM postings")  # type: ignore[attr-defined]
        uow.ledger.conn.exec_driver_sql("DELETE FROM transfers")  # type: ignore[attr-defined]
        uow.ledger.conn.exec_driver_sql("DELETE FROM ledger_accounts")  # type: ignore[attr-defined]
        ledger = Ledger(uow.ledger, T0)
        ids = [
            ledger.platform(AccountKind.PAYMENTS_CLEARING, "USD").id,
            ledger.platform(AccountKind.REVENUE, "USD", "voice").id,
            ledger.platform(AccountKind.REVENUE, "USD", "sms").id,
        ]
        customer = ids[1]
        open_holds: list[tuple[int, int, int, int]] = []
        for n, step in enumerate(plan):
            source, target = ids[step.source], ids[step.target]
            try:
                if step.kind in ("posted", "hold") and source != target:
                    kind = TransferKind.POSTED if step.kind == "posted" else TransferKind.PENDING
                    t = ledger.transfer(
                        f"s{n}", kind, source, target, step.amount, "USD", "random", floor=Floor(customer, 0)
                    )
                    if kind is TransferKind.PENDING:
                        open_holds.append((t.id, source, target, t.amount))
                elif step.kind in ("post", "void") and open_holds:
                    hold_id, src, dst, held = open_holds.pop(0)
                    kind = TransferKind.POST_PENDING if step.kind == "post" else TransferKind.VOID_PENDING
                    amount = min(step.amount, held) if step.kind == "post" else 0
                    ledger.transfer(f"s{n}", kind, src, dst, amount, "USD", "settle", pending_id=hold_id)
            except InsufficientFunds:
                pass
            assert uow.ledger.lock([customer])[customer].balance.credit_available >= 0
        uow.commit()
    report = container.ledger.verify()
    assert report.ok, report
