"""SQL mapping of prepaid settings, payments, the notification outbox, calls, phone numbers
and destination blocks."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from telebill.adapters.sql.account_snapshots import AccountSnapshots
from telebill.adapters.sql.billing_tables import (
    account_numbers,
    billing_settings,
    calls,
    destination_blocks,
    number_members,
    outbox,
    payments,
    worker_marks,
)
from telebill.adapters.sql.prepared import Prepared, Read
from telebill.domain.prepaid import BillingSettings, NegativePolicy
from telebill.service.ports import CallRow, LineRow, OutboxRow, PaymentRow

_SETTINGS_COLUMNS = [
    "credit_limit",
    "low_balance_threshold",
    "low_balance_alerted",
    "auto_recharge_enabled",
    "auto_recharge_threshold",
    "auto_recharge_amount",
    "auto_recharge_in_flight",
    "auto_recharge_declined",
    "auto_recharge_spent",
    "billing_address",
    "vat_number",
    "suspended",
    "webhook_url",
    "webhook_secret",
    "notify_email",
]


def _settings(row: Any) -> BillingSettings:
    values = {c: getattr(row, c) for c in _SETTINGS_COLUMNS}
    return BillingSettings(policy=NegativePolicy(row.policy), **values)


def _settings_values(s: BillingSettings) -> dict[str, Any]:
    values = {c: getattr(s, c) for c in _SETTINGS_COLUMNS}
    values["policy"] = s.policy.value
    return values


def _call(row: Any) -> CallRow:
    return CallRow(**{c.name: getattr(row, c.name) for c in calls.columns})


def _outbox(r: Any) -> OutboxRow:
    return OutboxRow(
        r.id, r.account_sid, r.topic, r.dedupe_key, json.loads(r.payload), r.created_at, r.attempts,
        r.next_attempt_at, r.delivered_at, r.failed_at, r.last_error,
    )  # fmt: skip


# Statements on the charging path are prepared once (prepared.py).
_SETTINGS_Q = select(billing_settings).where(billing_settings.c.account_sid == bindparam("sid"))
_SETTINGS, _SETTINGS_FOR_UPDATE = Prepared(_SETTINGS_Q), Prepared(_SETTINGS_Q.with_for_update())
_CALL_Q = select(calls).where(calls.c.account_sid == bindparam("sid"), calls.c.call_id == bindparam("call_id"))
_CALL, _CALL_FOR_UPDATE = Prepared(_CALL_Q), Prepared(_CALL_Q.with_for_update())
_CALL_COLUMNS = [c.name for c in calls.columns]
_INSERT_CALL = Prepared(insert(calls), _CALL_COLUMNS)
_CALL_PROGRESS = (
    "status", "reason", "granted_until_s", "used_s", "charged", "hold_transfer_id", "usage_seq", "duration_s",
    "billed_s", "answered", "ended_at",
)  # fmt: skip
_UPDATE_CALL = Prepared(
    update(calls)
    .where(calls.c.account_sid == bindparam("key_sid"), calls.c.call_id == bindparam("key_call_id"))
    .values({name: bindparam(f"v_{name}") for name in _CALL_PROGRESS})
)
_LINE = Prepared(select(account_numbers).where(account_numbers.c.e164 == bindparam("e164")))
_BLOCKS = Prepared(
    select(destination_blocks.c.kind, destination_blocks.c.value)
    .where(destination_blocks.c.account_sid == bindparam("sid"))
    .order_by(destination_blocks.c.kind, destination_blocks.c.value)
)
_MEMBERS = (
    select(number_members.c.key_sid)
    .where(number_members.c.e164 == bindparam("e164"))
    .order_by(number_members.c.key_sid)
)


class SqlBillingRepository:
    def __init__(self, conn: Connection, snapshots: AccountSnapshots | None = None) -> None:
        self.conn = conn
        self._snapshots = snapshots
        self.changed: set[str] = set()  # accounts whose settings, lines or blocks this changed
        # False: a step reading without locks (step_guard.py); asked-for locks are not taken
        self.locking = True
        self.revisions: dict[str, int] = {}  # settings read, by account: their revision

    # -- settings -----------------------------------------------------------------------

    def settings_read(self, account_sid: str, lock: bool = False) -> Read:
        locking = lock and self.locking and self.conn.dialect.name == "postgresql"
        return Read(_SETTINGS_FOR_UPDATE if locking else _SETTINGS, {"sid": account_sid})

    def settings(self, account_sid: str, lock: bool = False) -> BillingSettings | None:
        row = self.settings_read(account_sid, lock).one_or_none(self.conn)
        # the first read: what the step decided on (a later read may see a newer revision)
        self.revisions.setdefault(account_sid, int(row.revision) if row else -1)
        return _settings(row) if row else None

    def save_settings(self, account_sid: str, settings: BillingSettings) -> None:
        if self._snapshots is not None:  # read afresh by this process's next step
            self._snapshots.forget(account_sid)
        self.changed.add(account_sid)
        values = _settings_values(settings)
        updated = self.conn.execute(
            update(billing_settings)
            .where(billing_settings.c.account_sid == account_sid)
            .values(**values, revision=billing_settings.c.revision + 1)
        )
        if updated.rowcount == 0:
            self.conn.execute(insert(billing_settings).values(account_sid=account_sid, **values))

    # -- payments -----------------------------------------------------------------------

    def payment_by_key(self, key: str) -> PaymentRow | None:
        row = self.conn.execute(select(payments).where(payments.c.idempotency_key == key)).one_or_none()
        return PaymentRow(**{c.name: getattr(row, c.name) for c in payments.columns}) if row else None

    def payments_of(self, account_sid: str, limit: int, before: int | None) -> list[PaymentRow]:
        query = select(payments).where(payments.c.account_sid == account_sid)
        if before is not None:
            query = query.where(payments.c.id < before)
        rows = self.conn.execute(query.order_by(payments.c.id.desc()).limit(limit))
        return [PaymentRow(**{c.name: getattr(r, c.name) for c in payments.columns}) for r in rows]

    def add_payment(self, payment: PaymentRow) -> None:
        values = {c.name: getattr(payment, c.name) for c in payments.columns if c.name != "id"}
        self.conn.execute(insert(payments).values(**values))

    # -- outbox -------------------------------------------------------------------------

    def enqueue(self, account_sid: str, topic: str, dedupe_key: str, payload: dict[str, Any], now: datetime) -> bool:
        if self.conn.scalar(select(outbox.c.id).where(outbox.c.dedupe_key == dedupe_key)) is not None:
            return False
        self.conn.execute(
            insert(outbox).values(
                account_sid=account_sid,
                topic=topic,
                dedupe_key=dedupe_key,
                payload=json.dumps(payload, sort_keys=True),
                created_at=now,
                attempts=0,
                next_attempt_at=now,
                last_error="",
            )
        )
        return True

    # -- worker marks -----------------------------------------------------------------------

    def mark(self, name: str) -> datetime | None:
        found: datetime | None = self.conn.scalar(select(worker_marks.c.at).where(worker_marks.c.name == name))
        return found

    def set_mark(self, name: str, at: datetime) -> None:
        if self.conn.execute(update(worker_marks).where(worker_marks.c.name == name).values(at=at)).rowcount == 0:
            self.conn.execute(insert(worker_marks).values(name=name, at=at))

    def due(self, now: datetime, limit: int) -> list[OutboxRow]:
        query = (
            select(outbox)
            .where(outbox.c.delivered_at.is_(None), outbox.c.failed_at.is_(None), outbox.c.next_attempt_at <= now)
            .order_by(outbox.c.id)
            .limit(limit)
        )
        if self.conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return [_outbox(r) for r in self.conn.execute(query)]

    def mark_outbox(self, outbox_id: int, claimed: int | None = None, **values: Any) -> bool:
        query = update(outbox).where(outbox.c.id == outbox_id)
        if claimed is not None:  # only while the row is still as this worker's claim left it
            query = query.where(
                outbox.c.attempts == claimed, outbox.c.delivered_at.is_(None), outbox.c.failed_at.is_(None)
            )
        return bool(self.conn.execute(query.values(**values)).rowcount)

    def outbox_of(self, account_sid: str) -> list[OutboxRow]:
        rows = self.conn.execute(select(outbox).where(outbox.c.account_sid == account_sid).order_by(outbox.c.id))
        return [_outbox(r) for r in rows]

    def outbox_page(
        self, account_sid: str | None, limit: int, before: int | None, failed_only: bool = False
    ) -> list[OutboxRow]:
        """Newest first: an account's rows (all accounts' with None), ids below `before`."""
        query = select(outbox)
        if account_sid is not None:
            query = query.where(outbox.c.account_sid == account_sid)
        if failed_only:
            query = query.where(outbox.c.failed_at.is_not(None))
        if before is not None:
            query = query.where(outbox.c.id < before)
        return [_outbox(r) for r in self.conn.execute(query.order_by(outbox.c.id.desc()).limit(limit))]

    def outbox_row(self, outbox_id: int, lock: bool = False) -> OutboxRow | None:
        query = select(outbox).where(outbox.c.id == outbox_id)
        if lock and self.conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self.conn.execute(query).one_or_none()
        return _outbox(row) if row else None

    # -- calls --------------------------------------------------------------------------

    def call_read(self, account_sid: str, call_id: str, lock: bool = False) -> Read:
        locking = lock and self.conn.dialect.name == "postgresql"
        return Read(_CALL_FOR_UPDATE if locking else _CALL, {"sid": account_sid, "call_id": call_id})

    def call(self, account_sid: str, call_id: str, lock: bool = False) -> CallRow | None:
        row = self.call_read(account_sid, call_id, lock).one_or_none(self.conn)
        return _call(row) if row else None

    def add_call(self, call: CallRow) -> None:
        _INSERT_CALL.run(self.conn, {name: getattr(call, name) for name in _CALL_COLUMNS})

    def update_call(self, call: CallRow) -> None:
        params = {f"v_{name}": getattr(call, name) for name in _CALL_PROGRESS}
        _UPDATE_CALL.run(self.conn, {"key_sid": call.account_sid, "key_call_id": call.call_id, **params})

    def calls_of(self, account_sid: str, limit: int, before: datetime | None = None) -> list[CallRow]:
        query = select(calls).where(calls.c.account_sid == account_sid)
        if before is not None:
            query = query.where(calls.c.created_at < before)
        rows = self.conn.execute(query.order_by(calls.c.created_at.desc(), calls.c.call_id).limit(limit))
        return [_call(r) for r in rows]

    def all_calls(self, account_sid: str) -> list[CallRow]:
        rows = self.conn.execute(select(calls).where(calls.c.account_sid == account_sid))
        return [_call(r) for r in rows]

    # -- lines and blocks ---------------------------------------------------------------

    def line_read(self, e164: str) -> Read:
        return Read(_LINE, {"e164": e164})

    def line(self, e164: str) -> LineRow | None:
        row = self.line_read(e164).one_or_none(self.conn)
        return LineRow(row.e164, row.account_sid, bool(row.international_calling), row.created_at) if row else None

    def lines_of(self, account_sid: str) -> list[LineRow]:
        rows = self.conn.execute(
            select(account_numbers).where(account_numbers.c.account_sid == account_sid).order_by(account_numbers.c.e164)
        )
        return [LineRow(r.e164, r.account_sid, bool(r.international_calling), r.created_at) for r in rows]

    def _changed_policy(self, account_sid: str) -> None:
        """A change to what charging steps read of an account besides its settings (a line,
        the blocks) counts a revision of its settings too: steps in flight that read it
        without locks then run again, and what processes kept of it is read afresh
        (account_snapshots.py)."""
        if self._snapshots is not None:
            self._snapshots.forget(account_sid)
        self.changed.add(account_sid)
        self.conn.execute(
            update(billing_settings)
            .where(billing_settings.c.account_sid == account_sid)
            .values(revision=billing_settings.c.revision + 1)
        )

    def add_line(self, line: LineRow) -> None:
        self._changed_policy(line.account_sid)
        self.conn.execute(
            insert(account_numbers).values(
                e164=line.e164,
                account_sid=line.account_sid,
                international_calling=line.international_calling,
                created_at=line.created_at,
            )
        )

    def set_international(self, e164: str, enabled: bool) -> None:
        owner = self.conn.scalar(
            update(account_numbers)
            .where(account_numbers.c.e164 == e164)
            .values(international_calling=enabled)
            .returning(account_numbers.c.account_sid)
        )
        if owner is not None:
            self._changed_policy(owner)

    def members(self, e164: str) -> list[str]:
        return [r.key_sid for r in self.conn.execute(_MEMBERS, {"e164": e164})]

    def assign(self, e164: str, key_sid: str) -> None:
        if key_sid not in self.members(e164):
            self.conn.execute(insert(number_members).values(e164=e164, key_sid=key_sid))

    def unassign(self, e164: str, key_sid: str) -> None:
        self.conn.execute(
            delete(number_members).where(number_members.c.e164 == e164, number_members.c.key_sid == key_sid)
        )

    def blocks_read(self, account_sid: str) -> Read:
        return Read(_BLOCKS, {"sid": account_sid})

    def blocks(self, account_sid: str) -> list[tuple[str, str]]:
        return [(r.kind, r.value) for r in self.blocks_read(account_sid).rows(self.conn)]

    def add_block(self, account_sid: str, kind: str, value: str, now: datetime) -> None:
        if (kind, value) not in self.blocks(account_sid):
            self._changed_policy(account_sid)
            self.conn.execute(
                insert(destination_blocks).values(account_sid=account_sid, kind=kind, value=value, created_at=now)
            )

    def remove_block(self, account_sid: str, kind: str, value: str) -> None:
        self._changed_policy(account_sid)
        self.conn.execute(
            delete(destination_blocks).where(
                destination_blocks.c.account_sid == account_sid,
                destination_blocks.c.kind == kind,
                destination_blocks.c.value == value,
            )
        )
