"""Wiring: builds the adapters and services for one process. Nothing is built at import."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from telebill.adapters.clock import SystemClock
from telebill.adapters.jwt_keys import RsaJwtKeys
from telebill.adapters.sql.engine import make_engine
from telebill.adapters.sql.migrate import upgrade
from telebill.adapters.sql.uow import SqlUnitOfWorkFactory
from telebill.config import Settings
from telebill.service.accounts import AccountService
from telebill.service.catalog import CatalogService
from telebill.service.fx import ExchangeRateService
from telebill.service.ports import Clock
from telebill.service.pricing import PricingService


@dataclass
class Container:
    settings: Settings
    engine: Engine
    clock: Clock
    catalog: CatalogService
    accounts: AccountService
    fx: ExchangeRateService
    pricing: PricingService

    def migrate(self) -> None:
        upgrade(self.engine)

    def close(self) -> None:
        self.engine.dispose()


def bootstrap(settings: Settings | None = None, clock: Clock | None = None) -> Container:
    settings = settings or Settings()
    engine = make_engine(settings.resolved_database_url)
    clock = clock or SystemClock()
    uow = SqlUnitOfWorkFactory(engine)
    accounts = AccountService(uow, clock, RsaJwtKeys(), settings.operator_token_hash)
    catalog = CatalogService(uow, clock)
    fx = ExchangeRateService(uow)
    return Container(settings, engine, clock, catalog, accounts, fx, PricingService(catalog, fx, clock))
