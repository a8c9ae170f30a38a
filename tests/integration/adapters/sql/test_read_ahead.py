"""Reads made ahead of a charging step, and writes held back until the next read or the
commit, on the database under test (PostgreSQL queues and pipelines; SQLite runs each
statement when made, and must give the same answers)."""

from __future__ import annotations

import pytest

from telebill.adapters.sql.uow import SqlUnitOfWorkFactory
from telebill.bootstrap import Container
from telebill.domain.ledger import AccountKind, Balance
from telebill.service.step_ports import StepReads


@pytest.fixture
def uow(container: Container) -> SqlUnitOfWorkFactory:
    return SqlUnitOfWorkFactory(container.engine)


@pytest.fixture
def account_id(uow: SqlUnitOfWorkFactory) -> int:
    with uow() as u:
        new = u.ledger.create_account("platform:revenue:voice:USD", AccountKind.REVENUE, "USD", None)
        u.commit()
    return new


@pytest.fixture
def executions(container: Container, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The statements of the charging path sent to PostgreSQL (through libpq's pipeline, or
    psycopg's raw cursor where that cannot be used), in order."""
    sent: list[str] = []
    if container.engine.dialect.name == "postgresql":
        import psycopg

        from telebill.adapters.sql import libpq_pipeline

        real = psycopg.RawCursor.execute
        real_run = libpq_pipeline.run

        def execute(self, query, params=None, **kw):  # type: ignore[no-untyped-def]
            sent.append(str(query))
            return real(self, query, params, **kw)

        def run(dbapi, statements, commit=False):  # type: ignore[no-untyped-def]
            sent.extend(st.sql for st in statements for _ in (st.args if st.many else (None,)))  # each execution
            return real_run(dbapi, statements, commit)

        monkeypatch.setattr(psycopg.RawCursor, "execute", execute)
        monkeypatch.setattr(libpq_pipeline, "run", run)
    return sent


def test_a_row_read_ahead_answers_the_step_s_read_without_sending_it_again(
    uow: SqlUnitOfWorkFactory, account_id: int, executions: list[str], container: Container
) -> None:
    with uow() as u:
        u.read_ahead(StepReads("AC1", "call-1", ledger_account_id=account_id))
        ahead = len(executions)
        assert u.ledger.lock([account_id])[account_id].balance == Balance()
        assert u.billing.call("AC1", "call-1", lock=True) is None
        assert u.billing.settings("AC1", lock=True) is None
        if container.engine.dialect.name == "postgresql":
            assert ahead == 3
            assert len(executions) == 3


def test_a_row_read_ahead_is_read_again_once_the_step_has_written(uow: SqlUnitOfWorkFactory, account_id: int) -> None:
    with uow() as u:
        u.read_ahead(StepReads("AC1", "call-1", ledger_account_id=account_id))
        u.ledger.add_to_balances({account_id: Balance(credits_posted=250)})
        assert u.ledger.lock([account_id])[account_id].balance == Balance(credits_posted=250)
        u.commit()
    with uow() as u:
        assert u.ledger.lock([account_id])[account_id].balance == Balance(credits_posted=250)


def test_writes_held_back_are_dropped_with_a_step_that_does_not_commit(
    uow: SqlUnitOfWorkFactory, account_id: int
) -> None:
    with uow() as u:
        u.ledger.add_to_balances({account_id: Balance(credits_posted=250)})
    with uow() as u:
        assert u.ledger.lock([account_id])[account_id].balance == Balance()


def test_a_write_that_returns_rows_also_drops_what_was_read_ahead(uow: SqlUnitOfWorkFactory, account_id: int) -> None:
    from sqlalchemy import bindparam, update

    from telebill.adapters.sql.billing_tables import ledger_accounts
    from telebill.adapters.sql.prepared import Prepared

    credit = Prepared(
        update(ledger_accounts)
        .where(ledger_accounts.c.id == bindparam("a"))
        .values(credits_posted=ledger_accounts.c.credits_posted + bindparam("amount"))
        .returning(ledger_accounts.c.credits_posted)
    )
    with uow() as u:
        u.read_ahead(StepReads("AC1", "call-1", ledger_account_id=account_id))
        assert [r.credits_posted for r in credit.rows(u.ledger.conn, {"a": account_id, "amount": 250})] == [250]
        assert u.ledger.lock([account_id])[account_id].balance == Balance(credits_posted=250)


@pytest.fixture
def customer_id(uow: SqlUnitOfWorkFactory) -> int:
    with uow() as u:
        new = u.ledger.create_account("customer:credit:AC1:USD", AccountKind.CUSTOMER_CREDIT, "USD", None)
        u.commit()
    return new


def test_a_step_without_locks_sends_one_update_per_account_for_all_its_transfers(
    uow: SqlUnitOfWorkFactory, account_id: int, customer_id: int, executions: list[str], container: Container
) -> None:
    with uow() as u:
        u.read_ahead(StepReads("AC1", "call-1", ledger_account_id=customer_id, unlocked=True))
        u.ledger.add_to_balances({customer_id: Balance(debits_pending=100), account_id: Balance(credits_pending=100)})
        u.ledger.add_to_balances({customer_id: Balance(debits_posted=60), account_id: Balance(credits_posted=60)})
        u.ledger.add_to_balances({customer_id: Balance(debits_posted=5), account_id: Balance(credits_posted=5)})
        u.commit()
    if container.engine.dialect.name == "postgresql":
        assert sum(sql.startswith("UPDATE ledger_accounts") for sql in executions) == 2
    with uow() as u:
        balances = u.ledger.lock([customer_id, account_id])
    assert balances[customer_id].balance == Balance(debits_posted=65, debits_pending=100)
    assert balances[account_id].balance == Balance(credits_posted=65, credits_pending=100)


def test_balance_changes_sent_with_a_read_are_not_sent_again(
    uow: SqlUnitOfWorkFactory, account_id: int, customer_id: int
) -> None:
    with uow() as u:
        u.read_ahead(StepReads("AC1", "call-1", ledger_account_id=customer_id, unlocked=True))
        u.ledger.add_to_balances({customer_id: Balance(debits_posted=60), account_id: Balance(credits_posted=60)})
        assert u.billing.call("AC1", "call-2") is None  # a read: the queued updates go first
        u.ledger.add_to_balances({customer_id: Balance(debits_posted=5), account_id: Balance(credits_posted=5)})
        u.commit()
    with uow() as u:
        assert u.ledger.lock([customer_id])[customer_id].balance == Balance(debits_posted=65)
        assert u.ledger.lock([account_id])[account_id].balance == Balance(credits_posted=65)
