"""`telebill worker --once` as a real process: it delivers what another process left in the outbox."""

from __future__ import annotations

import json

from e2e_cli import Telebill

from telebill.adapters.sql.uow import SqlUnitOfWorkFactory
from telebill.bootstrap import bootstrap
from telebill.config import Settings
from telebill.domain.money import currency


def test_worker_once_logs_a_notification_of_an_account_without_a_webhook_and_marks_it_delivered(
    telebill: Telebill, database_url: str
) -> None:
    c = bootstrap(Settings(database_url=database_url))
    try:
        acct = c.accounts.create_account("acme", currency("USD")).account
        with SqlUnitOfWorkFactory(c.engine)() as uow:
            uow.billing.enqueue(acct.sid, "balance.low", "e2e-1", {"available": "4.99"}, c.clock.now())
            uow.commit()

        proc = telebill.run("worker", "--once")

        (line,) = [json.loads(text) for text in proc.stdout.splitlines() if text.startswith("{")]
        assert (line["topic"], line["account_sid"], line["data"]) == ("balance.low", acct.sid, {"available": "4.99"})
        assert "delivered=1" in proc.stderr
        with SqlUnitOfWorkFactory(c.engine)() as uow:
            (row,) = uow.billing.outbox_of(acct.sid)
        assert row.delivered_at is not None
        assert "delivered=0" in telebill.run("worker", "--once").stderr
    finally:
        c.close()
