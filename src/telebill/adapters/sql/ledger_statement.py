"""The entries of one ledger account, newest first, for a statement: each transfer that moved
its posted balance or its holds, with the change it made to each (credit-normal: credits add
to the balance, debits take from it; holds are its pending debits).

Entries are in the order they were applied to the account, which is the order of their
postings' ids: a posting takes its id from the database (a sequence on PostgreSQL, the row id
on SQLite) when it is inserted, and every writer has its customer's row locked by then, in an
earlier statement: a charging step with locks, a top-up and the hold-expiry worker read the row
locked first; a step without locks updates it in a statement of its own before the insert. (A
row locked only by the statement that also inserts the postings would not do: PostgreSQL may
take the postings' ids before that statement's update waits for the lock.) A
transfer's own id does not give that order: ids are taken a block at a time by each process,
and a charging step that read its account without locks takes them before the lock. The
postings of one transfer on an account are therefore consecutive among the account's.

Each page reads a range of the (account_id, id) index, so its cost does not grow with the
account's history; only `totals_since` reads the entries newer than the page.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from telebill.adapters.sql.billing_tables import postings, transfers

_P = postings.c


def _start(conn: Connection, account_id: int, transfer_id: int) -> int | None:
    """The id of the transfer's first posting on the account (None: not an entry of it)."""
    found = conn.scalar(select(func.min(_P.id)).where(_P.transfer_id == transfer_id, _P.account_id == account_id))
    return int(found) if found is not None else None


def entries(conn: Connection, account_id: int, limit: int, before: int | None) -> list[tuple[Any, int, int]]:
    """The transfers on the account, newest first (older than transfer `before` if given), each
    with its change to the account's posted balance and to its holds."""
    below = _start(conn, account_id, before) if before is not None else None
    if before is not None and below is None:
        return []
    fetch = 2 * limit + 4  # a transfer has at most a few postings on one account
    while True:
        query = select(_P.id, _P.transfer_id, _P.debit, _P.pending, _P.amount).where(_P.account_id == account_id)
        if below is not None:
            query = query.where(_P.id < below)
        rows = list(conn.execute(query.order_by(_P.id.desc()).limit(fetch)))
        exhausted = len(rows) < fetch
        groups: dict[int, list[int]] = {}  # transfer id -> [posted change, held change], newest first
        for r in rows:
            change = groups.setdefault(int(r.transfer_id), [0, 0])
            if not r.pending:
                change[0] += -int(r.amount) if r.debit else int(r.amount)
            elif r.debit:
                change[1] += int(r.amount)
        if not exhausted and rows:
            # the oldest transfer read may have postings beyond the ones read
            groups.pop(int(rows[-1].transfer_id), None)
        if exhausted or len(groups) >= limit:
            break
        fetch *= 2
    page = list(groups.items())[:limit]
    if not page:
        return []
    found = {r.id: r for r in conn.execute(select(transfers).where(transfers.c.id.in_([t for t, _ in page])))}
    return [(found[t], posted, held) for t, (posted, held) in page]


def totals_since(conn: Connection, account_id: int, transfer_id: int) -> tuple[int, int]:
    """The changes to the posted balance and holds made by `transfer_id` and the newer entries."""
    start = _start(conn, account_id, transfer_id)
    if start is None:
        return 0, 0
    rows = conn.execute(
        select(_P.debit, _P.pending, func.sum(_P.amount))
        .where(_P.account_id == account_id, _P.id >= start)
        .group_by(_P.debit, _P.pending)
    )
    posted = held = 0
    for debit, pending, total in rows:
        if not pending:
            posted += -int(total) if debit else int(total)
        elif debit:
            held += int(total)
    return posted, held


def has_entry(conn: Connection, account_id: int, transfer_id: int) -> bool:
    return _start(conn, account_id, transfer_id) is not None
