"""Wiring: builds the adapters and services for one process. Nothing is built at import."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from telebill.adapters.clock import SystemClock
from telebill.adapters.email_notify import EmailNotifier
from telebill.adapters.jwt_keys import RsaJwtKeys
from telebill.adapters.notify import LogNotifier, WebhookNotifier
from telebill.adapters.payments import ManualPayments
from telebill.adapters.sql.engine import make_engine
from telebill.adapters.sql.uow import SqlUnitOfWorkFactory
from telebill.config import Settings
from telebill.service.accounts import AccountService
from telebill.service.catalog import CatalogService
from telebill.service.charging import ChargingService
from telebill.service.credits import CreditService
from telebill.service.fx import ExchangeRateService
from telebill.service.ledger import LedgerService
from telebill.service.lines import LineService
from telebill.service.notification_history import NotificationHistory
from telebill.service.notifications import NotificationService
from telebill.service.ports import Clock
from telebill.service.pricing import PricingService
from telebill.service.provider_ports import PaymentProvider


@dataclass
class Container:
    settings: Settings
    engine: Engine
    clock: Clock
    catalog: CatalogService
    accounts: AccountService
    fx: ExchangeRateService
    pricing: PricingService
    ledger: LedgerService
    credits: CreditService
    charging: ChargingService
    lines: LineService
    notifications: NotificationService
    notification_history: NotificationHistory
    units: SqlUnitOfWorkFactory | None = None

    @property
    def embedded_database(self) -> bool:
        """Whether storage runs inside this process (SQLite): its calls never wait on a network."""
        return self.engine.dialect.name == "sqlite"

    def migrate(self) -> None:
        # Alembic is only needed to migrate; importing it lazily keeps every CLI command quick.
        from telebill.adapters.sql.migrate import upgrade

        upgrade(self.engine)

    def close(self) -> None:
        if self.units is not None:
            self.units.close()
        self.engine.dispose()


def bootstrap(
    settings: Settings | None = None, clock: Clock | None = None, payments: PaymentProvider | None = None
) -> Container:
    settings = settings or Settings()
    engine = make_engine(settings.resolved_database_url)
    clock = clock or SystemClock()
    uow = SqlUnitOfWorkFactory(engine)
    catalog = CatalogService(uow, clock)
    fx = ExchangeRateService(uow, clock)
    pricing = PricingService(catalog, fx, clock)
    accounts = AccountService(
        uow, clock, RsaJwtKeys(), settings.operator_token_hash, currency_check=pricing.check_currency
    )
    credits = CreditService(uow, clock, payments or ManualPayments(), settings.billing_identity_currencies)
    charging = ChargingService(
        uow, clock, pricing, settings.charging_interval_s, settings.hold_timeout_s, settings.charging_unlocked_steps
    )
    webhooks = WebhookNotifier(clock, allow_private=settings.webhook_allow_private)
    email = EmailNotifier(settings.smtp_url, settings.smtp_from) if settings.smtp_url else None
    return Container(
        settings, engine, clock, catalog, accounts, fx, pricing, LedgerService(uow), credits, charging,
        LineService(uow, clock),
        notifications=NotificationService(uow, clock, credits, charging, webhooks, LogNotifier(), email=email),
        notification_history=NotificationHistory(uow, clock),
        units=uow,
    )  # fmt: skip
