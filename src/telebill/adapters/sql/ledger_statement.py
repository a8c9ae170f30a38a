"""The entries of one ledger account, newest first, for a statement: each transfer that moved
its posted balance or its holds, with the change it made to each (credit-normal: credits add
to the balance, debits take from it; holds are its pending debits).

Entries are in transfer id order: a transfer takes its id while its customer's row is locked,
so one process numbers an account's transfers in the order they were applied. Each page reads
a range of the (account_id, transfer_id) index, so its cost does not grow with the account's
history; only `totals_since` reads the entries newer than the page.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, case, exists, func, select

from telebill.adapters.sql.billing_tables import postings, transfers

_P = postings.c


def _posted() -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((_P.pending, 0), (_P.debit, -_P.amount), else_=_P.amount)), 0)


def _held() -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((and_(_P.pending, _P.debit), _P.amount), else_=0)), 0)


def entries(conn: Connection, account_id: int, limit: int, before: int | None) -> list[tuple[Any, int, int]]:
    """The transfers on the account, newest first (older than `before` if given), each with its
    change to the account's posted balance and to its holds."""
    page = select(_P.transfer_id, _posted().label("posted"), _held().label("held")).where(_P.account_id == account_id)
    if before is not None:
        page = page.where(_P.transfer_id < before)
    sums = list(conn.execute(page.group_by(_P.transfer_id).order_by(_P.transfer_id.desc()).limit(limit)))
    if not sums:
        return []
    rows = {r.id: r for r in conn.execute(select(transfers).where(transfers.c.id.in_([s.transfer_id for s in sums])))}
    return [(rows[s.transfer_id], int(s.posted), int(s.held)) for s in sums]


def totals_since(conn: Connection, account_id: int, transfer_id: int) -> tuple[int, int]:
    """The changes to the posted balance and holds made by `transfer_id` and the newer entries."""
    row = conn.execute(
        select(_posted(), _held()).where(_P.account_id == account_id, _P.transfer_id >= transfer_id)
    ).one()
    return int(row[0]), int(row[1])


def has_entry(conn: Connection, account_id: int, transfer_id: int) -> bool:
    return bool(conn.scalar(select(exists().where(_P.account_id == account_id, _P.transfer_id == transfer_id))))
