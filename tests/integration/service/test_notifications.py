"""The outbox worker: low-balance alerts, auto-recharge, declines, webhooks with retries,
restarts and crashes. Time only moves when the FrozenClock is advanced; nothing sleeps."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from outbox_world import SECRET, UK_MOBILE, US_LINE, World, cross_low_balance
from tests.smtp_receiver import mail_server
from tests.webhook_receiver import Receiver

from telebill.adapters.notify import verify_signature
from telebill.adapters.sql.uow import SqlUnitOfWorkFactory
from telebill.bootstrap import bootstrap
from telebill.config import Settings
from telebill.domain.errors import InvalidInput
from telebill.service.call_admission import CallRequest
from telebill.service.notifications import LEASE


def micros(text: str) -> int:
    return int(Decimal(text) * 1_000_000)


@pytest.fixture
def notification_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="telebill.notifications")
    return caplog


def logged(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "telebill.notifications"]


# -- low-balance alerts -----------------------------------------------------------------------


def test_a_low_balance_alert_fires_once_per_crossing_below_the_threshold(
    world: World, notification_log: pytest.LogCaptureFixture
) -> None:
    c, acme = world.c, world.acme
    c.credits.top_up(acme, "5.10", "t1")
    world.spend(5)  # 5.10 - 0.105 = 4.995: below the default 5.00
    world.spend(1)
    world.spend(1)
    assert world.topics() == ["balance.low"]
    c.credits.top_up(acme, "1.00", "t2")  # 5.953: above again, re-armed
    world.spend(1)  # 5.932: still above
    assert world.topics() == ["balance.low"]
    world.spend(50)  # 4.882: below again
    world.spend(1)
    assert world.topics() == ["balance.low", "balance.low"]

    report = c.notifications.run_once()

    assert report.delivered == 2
    lines = logged(notification_log)
    assert [line["topic"] for line in lines] == ["balance.low", "balance.low"]
    assert [line["data"]["available"] for line in lines] == ["4.995", "4.882"]
    assert all(row.delivered_at == world.clock.now() and row.attempts == 1 for row in world.outbox())
    assert c.notifications.run_once().delivered == 0  # delivered once


# -- auto-recharge ----------------------------------------------------------------------------


def test_auto_recharge_tops_up_once_per_crossing_and_re_arms_after_success(world: World) -> None:
    c, acme = world.c, world.acme
    c.credits.update_settings(
        acme, {"auto_recharge_enabled": True, "auto_recharge_threshold": "0", "auto_recharge_amount": "10.00"}
    )
    c.credits.top_up(acme, "0.21", "t1")
    world.spend(10)  # 0.21: the balance hits zero
    c.credits.top_up(acme, "0.21", "t2")
    world.spend(10)  # zero again before the worker ran: the first request is still in flight
    assert world.available() == 0
    assert world.topics().count("auto_recharge") == 1
    assert c.credits.balance(acme).settings.auto_recharge_in_flight

    report = c.notifications.run_once()

    assert report.recharged == 1
    assert len(world.auto_charges()) == 1
    assert world.available() == micros("10.00")
    assert not c.credits.balance(acme).settings.auto_recharge_in_flight
    # Re-armed: the next crossing (same frozen instant, so outbox keys must not collide)
    # recharges again.
    world.spend(240)  # 5.04
    world.spend(240)  # 10.08 in all: -0.08
    assert world.topics().count("auto_recharge") == 2
    assert c.notifications.run_once().recharged == 1
    assert len(world.auto_charges()) == 2
    assert world.available() == micros("9.92")
    assert c.ledger.verify().ok


def test_auto_recharge_re_arms_even_when_the_top_up_leaves_the_balance_low(world: World) -> None:
    c, acme = world.c, world.acme
    c.credits.update_settings(
        acme, {"auto_recharge_enabled": True, "auto_recharge_threshold": "0", "auto_recharge_amount": "0.21"}
    )
    c.credits.top_up(acme, "0.21", "t1")
    world.spend(10)
    assert c.notifications.run_once().recharged == 1
    assert world.available() == micros("0.21")  # still under the 5.00 alert threshold
    assert not c.credits.balance(acme).settings.auto_recharge_in_flight
    world.spend(10)
    assert c.notifications.run_once().recharged == 1
    assert len(world.auto_charges()) == 2


def test_a_declined_auto_recharge_stops_it_and_notifies_until_turned_on_again(
    world: World, notification_log: pytest.LogCaptureFixture
) -> None:
    c, acme = world.c, world.acme
    c.credits.update_settings(
        acme, {"auto_recharge_enabled": True, "auto_recharge_threshold": "0", "auto_recharge_amount": "10.00"}
    )
    c.credits.top_up(acme, "0.21", "t1")
    world.spend(10)
    world.payments.decline_next()

    report = c.notifications.run_once()

    assert (report.declined, report.recharged) == (1, 0)
    settings = c.credits.balance(acme).settings
    assert (settings.auto_recharge_declined, settings.auto_recharge_in_flight) == (True, False)
    assert world.available() == 0
    declined = [line for line in logged(notification_log) if line["topic"] == "auto_recharge.declined"]
    assert [line["data"]["reason"] for line in declined] == ["card declined"]
    # stopped: the next crossing asks for nothing
    c.credits.top_up(acme, "0.21", "t2")
    world.spend(10)
    assert world.topics().count("auto_recharge") == 1
    # turned on again: re-armed
    c.credits.update_settings(acme, {"auto_recharge_enabled": True})
    c.credits.top_up(acme, "0.21", "t3")
    world.spend(10)
    assert world.topics().count("auto_recharge") == 2
    assert c.notifications.run_once().recharged == 1
    assert world.available() == micros("10.00")
    assert len(world.auto_charges()) == 2  # the declined attempt and the successful one


def test_an_auto_recharge_switched_off_before_the_worker_ran_charges_nothing(world: World) -> None:
    c, acme = world.c, world.acme
    c.credits.update_settings(
        acme, {"auto_recharge_enabled": True, "auto_recharge_threshold": "0", "auto_recharge_amount": "10.00"}
    )
    c.credits.top_up(acme, "0.21", "t1")
    world.spend(10)
    c.credits.update_settings(acme, {"auto_recharge_enabled": False})
    assert c.notifications.run_once().skipped == 1
    assert world.auto_charges() == []
    assert not c.credits.balance(acme).settings.auto_recharge_in_flight
    c.credits.update_settings(acme, {"auto_recharge_enabled": True})  # re-arms
    c.credits.top_up(acme, "0.21", "t2")
    world.spend(10)
    assert c.notifications.run_once().recharged == 1


def test_an_auto_recharge_that_keeps_failing_is_given_up_and_stopped_like_a_decline(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    c, acme = world.c, world.acme
    c.credits.update_settings(
        acme, {"auto_recharge_enabled": True, "auto_recharge_threshold": "0", "auto_recharge_amount": "10.00"}
    )
    c.credits.top_up(acme, "0.21", "t1")
    world.spend(10)

    def unreachable(*args: object) -> object:
        raise ConnectionError("payment provider unreachable")

    monkeypatch.setattr(world.payments, "charge", unreachable)
    for _ in range(9):
        assert c.notifications.run_once().retrying == 1
        world.clock.advance(timedelta(hours=1))
    report = c.notifications.run_once()

    assert (report.failed, report.delivered) == (1, 1)  # and the customer hears of it, in the same pass
    (row,) = [r for r in world.outbox() if r.topic == "auto_recharge"]
    assert (row.attempts, row.failed_at) == (10, world.clock.now())
    assert row.last_error == "ConnectionError: payment provider unreachable"
    settings = c.credits.balance(acme).settings
    assert (settings.auto_recharge_in_flight, settings.auto_recharge_declined) == (False, True)
    failed = world.outbox()[-1]
    assert (failed.topic, failed.delivered_at) == ("auto_recharge.failed", world.clock.now())
    assert failed.payload["reason"] == "could not connect"  # the customer's message: the kind of failure only


def test_a_crash_between_the_payment_and_marking_the_row_charges_the_provider_once(world: World) -> None:
    c, acme = world.c, world.acme
    c.credits.update_settings(
        acme, {"auto_recharge_enabled": True, "auto_recharge_threshold": "0", "auto_recharge_amount": "10.00"}
    )
    c.credits.top_up(acme, "0.21", "t1")
    world.spend(10)

    class Crash(BaseException):
        """The process dies: not an error the worker could catch and record."""

    top_up = c.credits.top_up

    def pay_then_die(*args: object, **kwargs: object) -> object:
        top_up(*args, **kwargs)  # type: ignore[arg-type]
        raise Crash

    c.credits.top_up = pay_then_die  # type: ignore[method-assign]
    with pytest.raises(Crash):
        c.notifications.run_once()
    (row,) = [r for r in world.outbox() if r.topic == "auto_recharge"]
    assert (row.delivered_at, row.attempts) == (None, 1)  # paid, but not marked
    assert world.available() == micros("10.00")

    c = world.restart()
    assert c.notifications.run_once().processed == 0  # leased to the dead worker
    world.clock.advance(LEASE)
    assert c.notifications.run_once().recharged == 1  # the row runs a second time ...

    assert len(world.auto_charges()) == 1  # ... and replays the payment instead of charging again
    assert world.available() == micros("10.00")
    (row,) = [r for r in world.outbox() if r.topic == "auto_recharge"]
    assert row.delivered_at == world.clock.now()
    assert c.ledger.verify().ok


# -- webhooks ---------------------------------------------------------------------------------


def test_a_webhook_is_signed_and_retried_at_the_backoff_times_until_delivered_once(
    world: World, receiver: Receiver
) -> None:
    row = cross_low_balance(world, receiver)
    receiver.statuses = [500, 500]
    start = world.clock.now()

    assert world.c.notifications.run_once().retrying == 1
    assert world.outbox()[0].next_attempt_at == start + timedelta(seconds=30)
    assert "HTTP 500" in world.outbox()[0].last_error
    world.clock.advance(timedelta(seconds=29))
    assert world.c.notifications.run_once().processed == 0  # not yet due
    world.clock.advance(timedelta(seconds=1))
    assert world.c.notifications.run_once().retrying == 1
    assert world.outbox()[0].next_attempt_at == start + timedelta(seconds=30 + 60)
    world.clock.advance(timedelta(seconds=60))
    assert world.c.notifications.run_once().delivered == 1
    world.clock.advance(timedelta(hours=2))
    assert world.c.notifications.run_once().processed == 0

    assert len(receiver.requests) == 3
    (delivered,) = world.outbox()
    delivered_at = start + timedelta(seconds=90)
    assert (delivered.attempts, delivered.delivered_at, delivered.last_error) == (3, delivered_at, "")
    headers, body = receiver.requests[-1]
    assert headers["content-type"] == "application/json"
    assert headers["telebill-event"] == "balance.low"
    assert {h["telebill-delivery"] for h, _ in receiver.requests} == {str(row.id)}
    sent_at = int(delivered_at.timestamp())
    assert headers["telebill-signature"].startswith(f"t={sent_at},v1=")
    expected = hmac.new(SECRET.encode(), f"{sent_at}.".encode() + body, hashlib.sha256).hexdigest()
    assert headers["telebill-signature"] == f"t={sent_at},v1={expected}"
    assert verify_signature(headers["telebill-signature"], body, SECRET, now=sent_at)
    assert not verify_signature(headers["telebill-signature"], body, "another secret", now=sent_at)
    assert not verify_signature(headers["telebill-signature"], body, SECRET, now=sent_at + 3600)  # a replay
    document = json.loads(body)
    assert document == {
        "id": row.id,
        "topic": "balance.low",
        "account_sid": world.acme.sid,
        "created_at": row.created_at.isoformat(),
        "data": row.payload,
    }
    assert document["data"]["available"] == "4.989"


def test_a_webhook_failing_every_time_is_given_up_after_ten_attempts(world: World, receiver: Receiver) -> None:
    cross_low_balance(world, receiver)
    receiver.statuses = [500] * 20
    waits = []
    for _ in range(9):
        assert world.c.notifications.run_once().retrying == 1
        row = world.outbox()[0]
        waits.append(int((row.next_attempt_at - world.clock.now()).total_seconds()))
        world.clock.at = row.next_attempt_at
    assert waits == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]

    assert world.c.notifications.run_once().failed == 1

    (row,) = world.outbox()
    assert (row.attempts, row.failed_at, row.delivered_at) == (10, world.clock.now(), None)
    assert "HTTP 500" in row.last_error
    world.clock.advance(timedelta(days=1))
    assert world.c.notifications.run_once().processed == 0
    assert len(receiver.requests) == 10


def test_a_row_whose_worker_died_during_its_last_attempt_is_given_up(world: World, receiver: Receiver) -> None:
    row = cross_low_balance(world, receiver)
    with SqlUnitOfWorkFactory(world.c.engine)() as uow:  # as a worker leaves it, dead on attempt 10
        uow.billing.mark_outbox(row.id, attempts=10, last_error="HTTP 500 from receiver")
        uow.commit()

    assert world.c.notifications.run_once().failed == 1

    (row,) = world.outbox()
    assert (row.failed_at, row.last_error) == (world.clock.now(), "HTTP 500 from receiver")
    assert receiver.requests == []


def test_a_redirect_is_not_followed_and_counts_as_a_failure(world: World, receiver: Receiver) -> None:
    cross_low_balance(world, receiver)
    receiver.statuses = [307]
    assert world.c.notifications.run_once().retrying == 1
    assert len(receiver.requests) == 1
    assert "HTTP 307" in world.outbox()[0].last_error


# -- durability ---------------------------------------------------------------------------


def test_the_outbox_survives_a_restart(world: World, notification_log: pytest.LogCaptureFixture) -> None:
    world.c.credits.top_up(world.acme, "5.01", "t1")
    world.spend(1)
    assert world.topics() == ["balance.low"]

    c = world.restart()
    report = c.notifications.run_once()

    assert report.delivered == 1
    assert [line["topic"] for line in logged(notification_log)] == ["balance.low"]
    assert world.outbox()[0].delivered_at == world.clock.now()


def test_the_worker_expires_holds_of_calls_that_never_ended(world: World) -> None:
    c = world.c
    c.credits.top_up(world.acme, "10.00", "t1")
    c.charging.authorize(world.acme, CallRequest("lost", US_LINE, UK_MOBILE))
    assert c.notifications.run_once().holds_expired == 0
    world.clock.advance(timedelta(hours=5))
    assert c.notifications.run_once().holds_expired == 1
    assert c.credits.balance(world.acme).holds == 0


# -- e-mail -----------------------------------------------------------------------------------


def test_without_a_webhook_an_alert_goes_by_email_to_the_accounts_address_and_is_retried(
    world: World, notification_log: pytest.LogCaptureFixture
) -> None:
    with mail_server() as box:
        settings = Settings(
            database_url=world.database_url,
            smtp_url=f"smtp://127.0.0.1:{box.port}",
            smtp_from="billing@telebill.example",
        )
        world.c.close()
        world.c = c = bootstrap(settings, world.clock, world.payments)
        c.credits.update_settings(world.acme, {"notify_email": "ops@acme.example"})
        c.credits.top_up(world.acme, "5.10", "t1")
        world.spend(5)
        box.refuse.add("ops@acme.example")
        assert c.notifications.run_once().retrying == 1  # the server refused the address
        box.refuse.clear()
        world.clock.advance(timedelta(seconds=30))
        assert c.notifications.run_once().delivered == 1
    [(recipients, message)] = box.messages
    assert recipients == ["ops@acme.example"]
    assert message["Subject"] == f"Low balance: 4.995 USD available on account {world.acme.sid}"
    assert logged(notification_log) == []  # not also logged
    with pytest.raises(InvalidInput, match="notify_email must be an e-mail address"):
        c.credits.update_settings(world.acme, {"notify_email": "ops@acme.example\nBcc: x@y.example"})
