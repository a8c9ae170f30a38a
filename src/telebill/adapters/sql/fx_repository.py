"""SQL storage of ECB reference rates (units per EUR by business day)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy import Connection, delete, func, insert, select

from telebill.adapters.sql.account_tables import fx_rates


class SqlFxRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def replace(self, rates: Sequence[tuple[date, str, Decimal]]) -> int:
        """Store `rates`. For every day and currency the import covers, what was stored is
        replaced (a currency the new file lists as N/A on such a day is dropped for that day)."""
        days = sorted({d for d, _, _ in rates})
        codes = sorted({c for _, c, _ in rates})
        for start in range(0, len(days), 500):
            chunk = days[start : start + 500]
            self.conn.execute(delete(fx_rates).where(fx_rates.c.day.in_(chunk), fx_rates.c.currency.in_(codes)))
        rows = [{"day": d, "currency": c, "per_eur": v} for d, c, v in rates]
        for start in range(0, len(rows), 5000):
            self.conn.execute(insert(fx_rates), rows[start : start + 5000])
        return len(rows)

    def per_eur(self, code: str, on_or_before: date) -> tuple[date, Decimal] | None:
        row = self.conn.execute(
            select(fx_rates.c.day, fx_rates.c.per_eur)
            .where(fx_rates.c.currency == code, fx_rates.c.day <= on_or_before)
            .order_by(fx_rates.c.day.desc())
            .limit(1)
        ).one_or_none()
        return (row.day, row.per_eur) if row else None

    def span(self) -> tuple[date | None, date | None, int]:
        row = self.conn.execute(select(func.min(fx_rates.c.day), func.max(fx_rates.c.day), func.count())).one()
        return row[0], row[1], int(row[2])
