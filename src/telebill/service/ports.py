"""Ports: what the services need from the outside world, as protocols the adapters implement."""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from telebill.domain.catalog.deck import DeckContent, DeckVersion
from telebill.domain.catalog.plans import PricePlan
from telebill.domain.money import Currency


class Clock(Protocol):
    """The current instant, always timezone-aware UTC. Tests move it; nothing sleeps."""

    def now(self) -> datetime: ...


class CatalogRepository(Protocol):
    """Decks, their versions and price plans, inside one unit of work."""

    def deck_currency(self, name: str) -> Currency | None: ...

    def add_deck(self, name: str, currency: Currency, created_at: datetime) -> None: ...

    def add_version(
        self,
        deck: str,
        effective_from: datetime,
        content: DeckContent,
        source: str,
        imported_at: datetime,
    ) -> int: ...

    def version_ids(self, deck: str) -> list[tuple[int, datetime]]: ...

    def load_version(self, version_id: int) -> DeckVersion: ...

    def list_decks(self) -> list[tuple[str, str, list[tuple[int, datetime, int]]]]: ...

    def add_plan(self, plan: PricePlan, created_at: datetime) -> None: ...

    def get_plan(self, name: str) -> PricePlan | None: ...

    def list_plans(self) -> list[PricePlan]: ...


class UnitOfWork(Protocol):
    """A transaction: rolled back on leaving the block unless `commit()` was called."""

    @property
    def catalog(self) -> CatalogRepository: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...
