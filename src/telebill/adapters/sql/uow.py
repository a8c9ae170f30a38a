"""The SQL unit of work: one connection, one transaction, rolled back unless committed."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine

from telebill.adapters.sql.account_repository import SqlAccountRepository
from telebill.adapters.sql.catalog_repository import SqlCatalogRepository
from telebill.adapters.sql.fx_repository import SqlFxRepository


class SqlUnitOfWork:
    catalog: SqlCatalogRepository
    accounts: SqlAccountRepository
    fx: SqlFxRepository

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Connection | None = None

    def __enter__(self) -> Self:
        self._conn = self._engine.connect()
        self._conn.begin()
        self.catalog = SqlCatalogRepository(self._conn)
        self.accounts = SqlAccountRepository(self._conn)
        self.fx = SqlFxRepository(self._conn)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._conn is not None
        try:
            if self._conn.in_transaction():
                self._conn.rollback()
        finally:
            self._conn.close()
            self._conn = None

    def commit(self) -> None:
        assert self._conn is not None
        self._conn.commit()


class SqlUnitOfWorkFactory:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine)
