"""What became of an account's notifications (service/notification_history.py): their states
as the worker moves them, the ones given up on, and sending one of those again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from outbox_world import World, cross_low_balance
from tests.webhook_receiver import Receiver

from telebill.adapters.sql.uow import SqlUnitOfWorkFactory
from telebill.domain.errors import Conflict, InvalidInput, NotFound


def give_up(world: World, receiver: Receiver) -> int:
    """A low-balance alert whose webhook answers 500 until the worker gives up on it."""
    row = cross_low_balance(world, receiver)
    receiver.statuses = [500] * 10
    for _ in range(10):
        world.c.notifications.run_once()
        world.clock.advance(timedelta(hours=1))
    return row.id


def test_an_alert_reads_pending_then_retrying_with_its_error_then_failed(world: World, receiver: Receiver) -> None:
    history = world.c.notification_history
    row = cross_low_balance(world, receiver)
    (pending,), more = history.of_account(world.acme)
    assert (pending.row.id, pending.status, more) == (row.id, "pending", False)
    receiver.statuses = [500] * 10
    world.c.notifications.run_once()
    (retrying,), _ = history.of_account(world.acme)
    assert retrying.status == "retrying"
    assert "HTTP 500" in retrying.row.last_error
    for _ in range(9):
        world.clock.advance(timedelta(hours=1))
        world.c.notifications.run_once()
    (failed,), _ = history.of_account(world.acme)
    assert failed.status == "failed"
    assert [n.row.id for n in history.failed()[0]] == [row.id]


def test_a_notification_given_up_on_is_delivered_once_sent_again(world: World, receiver: Receiver) -> None:
    outbox_id = give_up(world, receiver)
    receiver.statuses = []  # the receiver answers 200 again
    again = world.c.notification_history.retry(outbox_id)
    assert (again.status, again.row.attempts) == ("pending", 0)
    assert world.c.notifications.run_once().delivered == 1
    (delivered,), _ = world.c.notification_history.of_account(world.acme)
    assert delivered.status == "delivered"
    assert world.c.notification_history.failed()[0] == []
    assert len(receiver.requests) == 11


def test_only_a_notification_given_up_on_can_be_sent_again(world: World, receiver: Receiver) -> None:
    row = cross_low_balance(world, receiver)
    with pytest.raises(Conflict, match="pending"):
        world.c.notification_history.retry(row.id)
    with pytest.raises(NotFound):
        world.c.notification_history.retry(row.id + 1000)


def test_pages_follow_each_other_newest_first(world: World, receiver: Receiver) -> None:
    with SqlUnitOfWorkFactory(world.c.engine)() as uow:
        for i in range(3):
            uow.billing.enqueue(world.acme.sid, "balance.low", f"balance.low:{i}", {"n": i}, world.clock.now())
        uow.commit()
    history = world.c.notification_history
    first, more = history.of_account(world.acme, limit=2)
    assert more
    rest, more = history.of_account(world.acme, limit=2, before=first[-1].row.id)
    assert not more
    ids = [n.row.id for n in first + rest]
    assert ids == sorted(ids, reverse=True)
    assert len(ids) == 3
    with pytest.raises(InvalidInput):
        history.of_account(world.acme, limit=0)


def test_an_auto_recharge_given_up_on_is_not_sent_again(world: World) -> None:
    with SqlUnitOfWorkFactory(world.c.engine)() as uow:
        uow.billing.enqueue(world.acme.sid, "auto_recharge", "auto_recharge:x", {"amount": "10.00"}, world.clock.now())
        (row,) = uow.billing.outbox_of(world.acme.sid)
        uow.billing.mark_outbox(row.id, attempts=10, failed_at=world.clock.now(), last_error="ConnectionError")
        uow.commit()
    with pytest.raises(Conflict, match="turns it on again"):
        world.c.notification_history.retry(row.id)
    assert [n.status for n in world.c.notification_history.failed()[0]] == ["failed"]


def test_a_worker_whose_row_was_taken_over_does_not_record_over_the_new_attempt(
    world: World, receiver: Receiver
) -> None:
    """A worker's lease ran out (or the operator sent the row again) while it delivered: its
    outcome no longer belongs to the row, which another worker has claimed since."""
    row = cross_low_balance(world, receiver)
    with SqlUnitOfWorkFactory(world.c.engine)() as uow:
        assert uow.billing.mark_outbox(row.id, attempts=1)  # the first worker's claim
        uow.commit()
    with SqlUnitOfWorkFactory(world.c.engine)() as uow:
        assert uow.billing.mark_outbox(row.id, attempts=2)  # its lease ran out: another worker's claim
        uow.commit()
    with SqlUnitOfWorkFactory(world.c.engine)() as uow:
        stale = uow.billing.mark_outbox(row.id, claimed=1, next_attempt_at=world.clock.now(), last_error="late")
        current = uow.billing.mark_outbox(row.id, claimed=2, delivered_at=world.clock.now(), last_error="")
        uow.commit()
    assert (stale, current) == (False, True)
    (delivered,), _ = world.c.notification_history.of_account(world.acme)
    assert (delivered.status, delivered.row.last_error) == ("delivered", "")
