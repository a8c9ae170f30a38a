"""`telebill worker --once` as a real process: it delivers what another process left in the outbox."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from e2e_cli import Telebill

from telebill.adapters.sql.uow import SqlUnitOfWorkFactory
from telebill.bootstrap import Container, bootstrap
from telebill.config import Settings
from telebill.domain.accounts import Account
from telebill.domain.money import currency


@pytest.fixture
def other_process(database_url: str) -> Iterator[Container]:
    """The process that leaves messages in the outbox (the tests' own)."""
    c = bootstrap(Settings(database_url=database_url))
    try:
        yield c
    finally:
        c.close()


def account_with_message(c: Container, dedupe_key: str) -> Account:
    """A new account with one `balance.low` message in the outbox."""
    acct = c.accounts.create_account("acme", currency("USD")).account
    with SqlUnitOfWorkFactory(c.engine)() as uow:
        uow.billing.enqueue(acct.sid, "balance.low", dedupe_key, {"available": "4.99"}, c.clock.now())
        uow.commit()
    return acct


def test_worker_once_logs_a_notification_of_an_account_without_a_webhook_and_marks_it_delivered(
    telebill: Telebill, other_process: Container
) -> None:
    c = other_process
    acct = account_with_message(c, "e2e-1")

    proc = telebill.run("worker", "--once")

    (line,) = [json.loads(text) for text in proc.stdout.splitlines() if text.startswith("{")]
    assert (line["topic"], line["account_sid"], line["data"]) == ("balance.low", acct.sid, {"available": "4.99"})
    assert "delivered=1" in proc.stderr
    with SqlUnitOfWorkFactory(c.engine)() as uow:
        (row,) = uow.billing.outbox_of(acct.sid)
    assert row.delivered_at is not None
    assert "delivered=0" in telebill.run("worker", "--once").stderr


def test_a_notification_given_up_on_is_listed_and_sent_again_from_the_command_line(
    telebill: Telebill, other_process: Container
) -> None:
    c = other_process
    acct = account_with_message(c, "e2e-2")
    with SqlUnitOfWorkFactory(c.engine)() as uow:
        (row,) = uow.billing.outbox_of(acct.sid)
        uow.billing.mark_outbox(row.id, attempts=10, failed_at=c.clock.now(), last_error="HTTP 500 from receiver")
        uow.commit()

    (failed,) = [
        json.loads(line) for line in telebill.run("notifications", "list", "--failed", "--json").stdout.splitlines()
    ]
    assert (failed["id"], failed["account_sid"], failed["status"]) == (row.id, acct.sid, "failed")
    assert failed["last_error"] == "HTTP 500 from receiver"

    assert "status=pending" in telebill.run("notifications", "retry", str(row.id)).stdout
    assert "delivered=1" in telebill.run("worker", "--once").stderr
    listed = telebill.run("notifications", "list", "--account", acct.sid).stdout
    assert "status=delivered" in listed
    assert telebill.run("notifications", "list", "--failed").stdout == ""
