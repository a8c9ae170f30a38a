"""SQL mapping of the ledger: accounts with cached balances, transfers and postings.

`lock` takes row locks on PostgreSQL (`SELECT ... FOR UPDATE`, in id order so two
transfers never deadlock on each other); on SQLite the whole transaction already holds
the database's write lock (`BEGIN IMMEDIATE`, see engine.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    and_,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal_column,
    select,
    text,
    update,
)

from telebill.adapters.sql import ledger_statement
from telebill.adapters.sql.billing_tables import calls, ledger_accounts, postings, transfers
from telebill.adapters.sql.prepared import Prepared, Read, queued
from telebill.domain.ledger import AccountKind, Balance, Leg, TransferKind
from telebill.service.ports import LedgerAccountRow, LedgerEntryRow, TransferRow

# Statements on the charging path are prepared once (prepared.py).
_LA = ledger_accounts.c
_BY_CODE = Prepared(select(ledger_accounts).where(_LA.code == bindparam("code")))
_LOCK = select(ledger_accounts).where(_LA.id.in_(bindparam("ids", expanding=True))).order_by(_LA.id)
_LOCK_FOR_UPDATE = _LOCK.with_for_update()
_ONE = select(ledger_accounts).where(_LA.id == bindparam("a"))
_TWO = select(ledger_accounts).where(_LA.id.in_([bindparam("a"), bindparam("b")])).order_by(_LA.id)
_LOCK_ONE, _LOCK_ONE_FOR_UPDATE = Prepared(_ONE), Prepared(_ONE.with_for_update())
_LOCK_TWO, _LOCK_TWO_FOR_UPDATE = Prepared(_TWO), Prepared(_TWO.with_for_update())
# relative: an account whose balance the transaction did not need is not read (nor locked)
# before its update
_ADD_TO_BALANCE = Prepared(
    update(ledger_accounts)
    .where(_LA.id == bindparam("account_id"))
    .values(
        debits_posted=_LA.debits_posted + bindparam("dp"),
        credits_posted=_LA.credits_posted + bindparam("cp"),
        debits_pending=_LA.debits_pending + bindparam("dq"),
        credits_pending=_LA.credits_pending + bindparam("cq"),
    )
)
_BY_KEY = Prepared(select(transfers).where(transfers.c.idempotency_key == bindparam("key")))
_BY_ID = Prepared(select(transfers).where(transfers.c.id == bindparam("transfer_id")))
_SETTLEMENT = Prepared(select(transfers).where(transfers.c.pending_id == bindparam("pending_id")))
_settlement = transfers.alias("settlement")
_HOLD = Prepared(
    select(transfers, _settlement.c.id.label("settled_by"))
    .outerjoin(_settlement, _settlement.c.pending_id == transfers.c.id)
    .where(transfers.c.id == bindparam("transfer_id"))
)
# a call's open hold, found from the call (a step's reads can then go ahead together)
_HOLD_OF_CALL = Prepared(
    select(transfers, _settlement.c.id.label("settled_by"))
    .select_from(calls)
    .join(transfers, transfers.c.id == calls.c.hold_transfer_id)
    .outerjoin(_settlement, _settlement.c.pending_id == transfers.c.id)
    .where(calls.c.account_sid == bindparam("sid"), calls.c.call_id == bindparam("call_id"))
)
_TRANSFER_KEYS = [c.key for c in transfers.columns if c.key != "id"]
_INSERT_TRANSFER = Prepared(insert(transfers).returning(transfers.c.id), _TRANSFER_KEYS)
_INSERT_TRANSFER_WITH_ID = Prepared(insert(transfers), ["id", *_TRANSFER_KEYS])
_ID_BLOCK_SIZE = 100
_NEXT_IDS = Prepared(
    select(literal_column("nextval(pg_get_serial_sequence('transfers', 'id'))").label("id")).select_from(
        text(f"generate_series(1, {_ID_BLOCK_SIZE})")
    )
)


class IdBlocks:
    """Transfer ids taken from PostgreSQL's sequence a block at a time, so that inserting a
    transfer needs no round trip to learn its id (its insert can then be deferred)."""

    def __init__(self) -> None:
        self._free: list[int] = []
        self._lock = threading.Lock()

    def next(self, conn: Connection) -> int:
        with self._lock:
            if self._free:
                return self._free.pop()
        # outside the lock, and without sending the transaction's queued writes (it reads no
        # table): a refill never waits on a row lock while other threads wait on this lock
        fresh = [int(r.id) for r in _NEXT_IDS.rows(conn, {}, flush=False)]
        with self._lock:
            self._free.extend(sorted(fresh, reverse=True))
            return self._free.pop()


_POSTING_KEYS = ("transfer_id", "account_id", "debit", "pending", "amount")
_INSERT_POSTINGS: dict[int, Prepared] = {}  # by number of legs: one multi-row INSERT each
_BALANCE_FIELDS = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")
# two accounts in one statement; each row's delta chosen by its id
_ADD_TO_TWO_BALANCES = Prepared(
    update(ledger_accounts)
    .where(_LA.id.in_([bindparam("a"), bindparam("b")]))
    .values(
        {
            f: getattr(_LA, f)
            + case(
                (_LA.id == bindparam("a"), bindparam(f"a_{f}", type_=BigInteger)),
                else_=bindparam(f"b_{f}", type_=BigInteger),
            )
            for f in _BALANCE_FIELDS
        }
    )
)


def _insert_postings(legs: int) -> Prepared:
    found = _INSERT_POSTINGS.get(legs)
    if found is None:
        rows: list[dict[str, Any]] = [{k: bindparam(f"{k}_{i}") for k in _POSTING_KEYS} for i in range(legs)]
        found = _INSERT_POSTINGS[legs] = Prepared(insert(postings).values(rows))
    return found


def _transfer(row: Any) -> TransferRow:
    return TransferRow(
        id=int(row.id),
        idempotency_key=row.idempotency_key,
        request_hash=row.request_hash,
        kind=TransferKind(row.kind),
        debit_account_id=int(row.debit_account_id),
        credit_account_id=int(row.credit_account_id),
        amount=int(row.amount),
        currency=row.currency,
        pending_id=int(row.pending_id) if row.pending_id is not None else None,
        expires_at=row.expires_at,
        created_at=row.created_at,
        reference=row.reference,
        fx_rate=row.fx_rate,
    )


def _account(row: Any) -> LedgerAccountRow:
    return LedgerAccountRow(
        id=int(row.id),
        code=row.code,
        kind=AccountKind(row.kind),
        currency=row.currency,
        owner_sid=row.owner_sid,
        balance=Balance(
            int(row.debits_posted), int(row.credits_posted), int(row.debits_pending), int(row.credits_pending)
        ),
    )


class SqlLedgerRepository:
    def __init__(self, conn: Connection, ids: IdBlocks | None = None) -> None:
        self.conn = conn
        self._ids = ids
        self.locking = True  # False: a step reading without locks (step_guard.py)
        # a step without locks: its balance changes not yet sent, summed by account in the
        # order first changed, and the queued batch that sends them
        self._unsent: dict[int, Balance] = {}
        self._batch: Any = None

    def account_by_code(self, code: str) -> LedgerAccountRow | None:
        row = _BY_CODE.one_or_none(self.conn, {"code": code})
        return _account(row) if row else None

    def accounts_of_owner(self, owner_sid: str) -> list[LedgerAccountRow]:
        rows = self.conn.execute(
            select(ledger_accounts).where(ledger_accounts.c.owner_sid == owner_sid).order_by(ledger_accounts.c.id)
        )
        return [_account(r) for r in rows]

    def create_account(self, code: str, kind: AccountKind, currency: str, owner_sid: str | None) -> int:
        new_id = self.conn.scalar(
            insert(ledger_accounts)
            .values(
                code=code,
                kind=kind.value,
                currency=currency,
                owner_sid=owner_sid,
                debits_posted=0,
                credits_posted=0,
                debits_pending=0,
                credits_pending=0,
            )
            .returning(ledger_accounts.c.id)
        )
        assert new_id is not None
        return int(new_id)

    def lock_read(self, account_ids: Iterable[int]) -> Read:
        """The read that locks one or two accounts (`lock`)."""
        ids = sorted(set(account_ids))
        for_update = self.locking and self.conn.dialect.name == "postgresql"
        if len(ids) == 1:
            return Read(_LOCK_ONE_FOR_UPDATE if for_update else _LOCK_ONE, {"a": ids[0]})
        if len(ids) == 2:
            return Read(_LOCK_TWO_FOR_UPDATE if for_update else _LOCK_TWO, {"a": ids[0], "b": ids[1]})
        raise ValueError("lock_read takes one or two accounts")

    def lock(self, account_ids: Iterable[int]) -> dict[int, LedgerAccountRow]:
        ids = sorted(set(account_ids))
        if len(ids) in (1, 2):
            rows = self.lock_read(ids).rows(self.conn)
        else:
            for_update = self.locking and self.conn.dialect.name == "postgresql"
            rows = list(self.conn.execute(_LOCK_FOR_UPDATE if for_update else _LOCK, {"ids": ids}))
        return {int(r.id): _account(r) for r in rows}

    def add_to_balances(self, deltas: Mapping[int, Balance]) -> None:
        """One batch in the given order; on PostgreSQL a transfer's two accounts in one
        statement (the driver's cost per statement outweighs SQLite's in executing it),
        except for a step reading without locks: its updates take the rows' locks, in the
        given order (the customer's first, as a locked step locks it first), where one
        statement would take them in id order. Such a step's later transfers add to the
        batch while it waits to be sent: one update per account for all of them, at the
        place of the first (the order of the locks is kept, and only the rows' final values
        are checked)."""
        if len(deltas) == 2 and self.locking and self.conn.dialect.name == "postgresql":
            (a, da), (b, db) = deltas.items()
            params: dict[str, int] = {"a": a, "b": b}
            for f in _BALANCE_FIELDS:
                params[f"a_{f}"], params[f"b_{f}"] = getattr(da, f), getattr(db, f)
            _ADD_TO_TWO_BALANCES.run(self.conn, params)
            return
        merging = not self.locking and queued(self.conn, self._batch)
        unsent = self._unsent if merging else {}
        for account_id, delta in deltas.items():
            unsent[account_id] = unsent[account_id].plus(delta) if account_id in unsent else delta
        self._batch = _ADD_TO_BALANCE.run_many(
            self.conn,
            [
                {
                    "account_id": account_id,
                    "dp": b.debits_posted,
                    "cp": b.credits_posted,
                    "dq": b.debits_pending,
                    "cq": b.credits_pending,
                }
                for account_id, b in unsent.items()
            ],
            instead=self._batch if merging else None,
        )
        self._unsent = unsent

    def transfer_by_key(self, key: str) -> TransferRow | None:
        row = _BY_KEY.one_or_none(self.conn, {"key": key})
        return _transfer(row) if row else None

    def transfer(self, transfer_id: int) -> TransferRow | None:
        row = _BY_ID.one_or_none(self.conn, {"transfer_id": transfer_id})
        return _transfer(row) if row else None

    def settlement_of(self, pending_id: int) -> TransferRow | None:
        row = _SETTLEMENT.one_or_none(self.conn, {"pending_id": pending_id})
        return _transfer(row) if row else None

    def hold_of_call_read(self, account_sid: str, call_id: str) -> Read:
        """The call's hold (if it has one), read from the call; its rows answer `hold` too."""

        def answers(rows: list[Any]) -> tuple[Prepared, dict[str, Any]] | None:
            return (_HOLD, {"transfer_id": int(rows[0].id)}) if rows else None

        return Read(_HOLD_OF_CALL, {"sid": account_sid, "call_id": call_id}, answers)

    def hold(self, transfer_id: int) -> tuple[TransferRow, bool] | None:
        row = _HOLD.one_or_none(self.conn, {"transfer_id": transfer_id})
        return (_transfer(row), row.settled_by is not None) if row else None

    def insert_transfer(
        self,
        key: str,
        request_hash: str,
        kind: TransferKind,
        debit_account_id: int,
        credit_account_id: int,
        amount: int,
        currency: str,
        pending_id: int | None,
        expires_at: datetime | None,
        created_at: datetime,
        reference: str,
        fx_rate: Decimal | None,
        legs: Sequence[Leg],
    ) -> int:
        values = {
            "idempotency_key": key,
            "request_hash": request_hash,
            "kind": kind.value,
            "debit_account_id": debit_account_id,
            "credit_account_id": credit_account_id,
            "amount": amount,
            "currency": currency,
            "pending_id": pending_id,
            "expires_at": expires_at,
            "created_at": created_at,
            "reference": reference[:200],
            "fx_rate": fx_rate,
        }
        if self._ids is not None:
            new_id = self._ids.next(self.conn)
            _INSERT_TRANSFER_WITH_ID.run(self.conn, {"id": new_id, **values})
        else:
            new_id = _INSERT_TRANSFER.rows(self.conn, values)[0][0]
        values_of_legs: dict[str, Any] = {}
        for i, leg in enumerate(legs):
            values_of_legs.update(
                {
                    f"transfer_id_{i}": new_id,
                    f"account_id_{i}": leg.account_id,
                    f"debit_{i}": leg.debit,
                    f"pending_{i}": leg.pending,
                    f"amount_{i}": leg.amount,
                }
            )
        _insert_postings(len(legs)).run(self.conn, values_of_legs)
        return int(new_id)

    def expired_holds(self, now: datetime, limit: int, after: datetime | None = None) -> list[TransferRow]:
        # a range of the open-holds index, each hold probed for a settlement through the unique
        # index on pending_id (no scan of every settlement)
        settlement = transfers.alias("settlement")
        query = select(transfers).where(
            transfers.c.kind == TransferKind.PENDING.value,
            transfers.c.expires_at <= now,
            ~exists().where(settlement.c.pending_id == transfers.c.id),
        )
        if after is not None:
            query = query.where(transfers.c.expires_at > after)
        rows = self.conn.execute(query.order_by(transfers.c.expires_at, transfers.c.id).limit(limit))
        return [_transfer(r) for r in rows]

    # -- statements (ledger_statement.py) ---------------------------------------------------

    def entries(self, account_id: int, limit: int, before: int | None) -> list[LedgerEntryRow]:
        rows = ledger_statement.entries(self.conn, account_id, limit, before)
        return [LedgerEntryRow(_transfer(r), posted, held) for r, posted, held in rows]

    def entry_totals_since(self, account_id: int, transfer_id: int) -> tuple[int, int]:
        return ledger_statement.totals_since(self.conn, account_id, transfer_id)

    def has_entry(self, account_id: int, transfer_id: int) -> bool:
        return ledger_statement.has_entry(self.conn, account_id, transfer_id)

    # -- verification ---------------------------------------------------------------------

    def unbalanced_transfers(self) -> list[int]:
        signed = func.sum(case((postings.c.debit, postings.c.amount), else_=-postings.c.amount))
        rows = self.conn.execute(
            select(postings.c.transfer_id).group_by(postings.c.transfer_id, postings.c.pending).having(signed != 0)
        )
        return sorted({int(r[0]) for r in rows})

    def folded_balances(self) -> dict[int, Balance]:
        rows = self.conn.execute(
            select(postings.c.account_id, postings.c.debit, postings.c.pending, func.sum(postings.c.amount)).group_by(
                postings.c.account_id, postings.c.debit, postings.c.pending
            )
        )
        out: dict[int, dict[tuple[bool, bool], int]] = {}
        for account_id, debit, pending, total in rows:
            out.setdefault(int(account_id), {})[(bool(debit), bool(pending))] = int(total)
        return {
            a: Balance(
                v.get((True, False), 0),
                v.get((False, False), 0),
                v.get((True, True), 0),
                v.get((False, True), 0),
            )
            for a, v in out.items()
        }

    def cached_balances(self) -> dict[int, Balance]:
        return {a.id: a.balance for a in (_account(r) for r in self.conn.execute(select(ledger_accounts)))}

    def orphan_postings(self) -> int:
        return int(
            self.conn.scalar(
                select(func.count())
                .select_from(postings.outerjoin(transfers, transfers.c.id == postings.c.transfer_id))
                .where(transfers.c.id.is_(None))
            )
            or 0
        )

    def transfers_without_postings(self) -> int:
        return int(
            self.conn.scalar(
                select(func.count())
                .select_from(transfers.outerjoin(postings, and_(postings.c.transfer_id == transfers.c.id)))
                .where(postings.c.id.is_(None))
            )
            or 0
        )
