"""The entries of one ledger account, newest first, for a statement: each transfer that moved
its posted balance or its holds, with the change it made to each (credit-normal: credits add
to the balance, debits take from it; holds are its pending debits)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, case, exists, func, or_, select

from telebill.adapters.sql.billing_tables import postings, transfers

_P = postings.c
_T = transfers.c


def _posted() -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((_P.pending, 0), (_P.debit, -_P.amount), else_=_P.amount)), 0)


def _held() -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((and_(_P.pending, _P.debit), _P.amount), else_=0)), 0)


def _newer_than(transfer_id: int) -> ColumnElement[bool]:
    anchor = select(_T.created_at).where(_T.id == transfer_id).scalar_subquery()
    return or_(_T.created_at > anchor, and_(_T.created_at == anchor, _T.id > transfer_id))


def _older_than(transfer_id: int) -> ColumnElement[bool]:
    anchor = select(_T.created_at).where(_T.id == transfer_id).scalar_subquery()
    return or_(_T.created_at < anchor, and_(_T.created_at == anchor, _T.id < transfer_id))


def entries(conn: Connection, account_id: int, limit: int, before: int | None) -> list[Any]:
    """Rows of the transfers on the account (newest first, older than `before` if given), each
    with `posted` and `held`: its change to the account's posted balance and holds."""
    query = (
        select(transfers, _posted().label("posted"), _held().label("held"))
        .join(postings, _P.transfer_id == _T.id)
        .where(_P.account_id == account_id)
    )
    if before is not None:
        query = query.where(_older_than(before))
    query = query.group_by(*transfers.columns).order_by(_T.created_at.desc(), _T.id.desc()).limit(limit)
    return list(conn.execute(query))


def totals_since(conn: Connection, account_id: int, transfer_id: int) -> tuple[int, int]:
    """The changes to the posted balance and holds made by `transfer_id` and the newer entries."""
    row = conn.execute(
        select(_posted(), _held())
        .select_from(postings.join(transfers, _T.id == _P.transfer_id))
        .where(_P.account_id == account_id, or_(_T.id == transfer_id, _newer_than(transfer_id)))
    ).one()
    return int(row[0]), int(row[1])


def has_entry(conn: Connection, account_id: int, transfer_id: int) -> bool:
    return bool(conn.scalar(select(exists().where(_P.account_id == account_id, _P.transfer_id == transfer_id))))
