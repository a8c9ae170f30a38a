"""The world of the outbox tests: a container on the demo catalog with scripted payments and
one USD account with a line; and a low-balance alert sent to a webhook receiver."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from tests.webhook_receiver import Receiver

from telebill.adapters.clock import FrozenClock
from telebill.adapters.demo_loader import load_demo
from telebill.adapters.payments import ScriptedPayments
from telebill.adapters.sql.uow import SqlUnitOfWorkFactory
from telebill.bootstrap import Container, bootstrap
from telebill.config import Settings
from telebill.domain.accounts import Account, Principal, Role
from telebill.domain.money import currency
from telebill.service.call_admission import CallRequest
from telebill.service.ports import OutboxRow

US_LINE = "+14155550100"
UK_MOBILE = "+447400123456"  # demo plan: 0.0210 a minute, 60/60
SECRET = "whsec_test_secret"


@dataclass
class World:
    """A container on the demo catalog with scripted payments, and one USD account with a line."""

    database_url: str
    clock: FrozenClock
    payments: ScriptedPayments
    c: Container
    acme: Account
    calls: int = 0

    def restart(self) -> Container:
        """Dispose of the container and build a new one on the same database (a new process)."""
        self.c.close()
        self.c = bootstrap(
            Settings(database_url=self.database_url, webhook_allow_private=True), self.clock, self.payments
        )
        return self.c

    def spend(self, minutes: int) -> None:
        """A call to a UK mobile lasting `minutes` (all consumed time is charged)."""
        self.calls += 1
        call_id = f"call-{self.calls}"
        assert self.c.charging.authorize(self.acme, CallRequest(call_id, US_LINE, UK_MOBILE)).allowed
        self.c.charging.end(self.acme, call_id, minutes * 60, answered=True)

    def available(self) -> int:
        return self.c.credits.balance(self.acme).available

    def outbox(self) -> list[OutboxRow]:
        with SqlUnitOfWorkFactory(self.c.engine)() as uow:
            return uow.billing.outbox_of(self.acme.sid)

    def topics(self) -> list[str]:
        return [row.topic for row in self.outbox()]

    def auto_charges(self) -> list[tuple[str, Decimal, str, str]]:
        return [charge for charge in self.payments.charges if ":auto_recharge:" in charge[3]]


def make_world(database_url: str, clock: FrozenClock) -> World:
    payments = ScriptedPayments()
    c = bootstrap(Settings(database_url=database_url, webhook_allow_private=True), clock, payments)
    c.migrate()
    for _ in load_demo(c.catalog, c.fx, datetime(2026, 1, 1, tzinfo=UTC)):
        pass
    acme = c.accounts.create_account("acme", currency("USD"), "demo").account
    c.credits.update_settings(acme, {"billing_address": "1 Main St, San Francisco"})
    c.lines.add(acme, US_LINE)
    c.lines.set_international(Principal(acme, Role.ADMIN), acme, US_LINE, True)
    return World(database_url, clock, payments, c, acme)


def cross_low_balance(world: World, receiver: Receiver) -> OutboxRow:
    """The account's webhook set to the receiver, and one call taking it below 5.00."""
    world.c.credits.update_settings(world.acme, {"webhook_url": receiver.url, "webhook_secret": SECRET})
    world.c.credits.top_up(world.acme, "5.01", "t1")
    world.spend(1)
    (row,) = world.outbox()
    return row
