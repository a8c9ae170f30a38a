"""The guarded commit of a charging step that read its account without locks (PostgreSQL).

The step's writes, one read of the guarded ledger account and the account's prepaid settings,
and the COMMIT go in one pipelined round trip. The read calls `telebill_guard` (migration
0009), which raises SQLSTATE TB001 unless the transaction leaves the ledger account with the
available credit the step needs and the settings' revision is the one the step read; the
error aborts the transaction, so the COMMIT sent after it commits nothing.

Why that is enough: a transaction that committed before the read is seen by it, as a lower
balance or a new revision. One that commits after it can be placed after the step: if it
spends or credits the ledger account, it waits for the step's lock on the row (the step
updated it before the read, whenever it moved money) and reads the balance the step left; if
it changes the settings, the step decided on the settings as they were before it, as it
would have had it run first. Where the step moved no money, the ledger row is not locked, and
the read only confirms that the snapshot still stands.

The snapshot may be older than the step's transaction: rows its process kept from earlier
steps (account_snapshots.py). The argument is the same, with the revision the kept rows were
read at: any change to them since counts a newer revision, which the guard sees.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Connection, Integer, and_, bindparam, func, literal_column, or_, select
from sqlalchemy.exc import DBAPIError

from telebill.adapters.sql.billing_tables import billing_settings, ledger_accounts
from telebill.adapters.sql.prepared import Prepared, Read, flush_writes
from telebill.domain.ledger import Balance
from telebill.service.step_ports import GuardFailed, StepGuard

GUARD_FAILED = "TB001"

_LA, _BS = ledger_accounts.c, billing_settings.c
_ONE = select(literal_column("1").label("one")).subquery("one")
_GUARD = Prepared(
    select(
        _LA.debits_posted,
        _LA.credits_posted,
        _LA.debits_pending,
        _LA.credits_pending,
        func.telebill_guard(
            and_(
                or_(
                    bindparam("account_id", type_=Integer).is_(None),
                    and_(
                        _LA.id.is_not(None),
                        _LA.credits_posted - _LA.debits_posted - _LA.debits_pending
                        >= bindparam("least", type_=BigInteger),
                    ),
                ),
                func.coalesce(_BS.revision, literal_column("-1")) == bindparam("revision", type_=BigInteger),
            ),
            type_=Boolean,
        ).label("ok"),
    ).select_from(
        _ONE.outerjoin(ledger_accounts, _LA.id == bindparam("account_id")).outerjoin(
            billing_settings, _BS.account_sid == bindparam("sid")
        )
    )
)


def commit_guarded(conn: Connection, guard: StepGuard, revision: int) -> Balance:
    """Commit if the guard holds, with `revision` the settings' revision the step read (-1:
    no row); else GuardFailed, and the transaction is left aborted for the caller to roll back."""
    try:
        rows = flush_writes(
            conn,
            commit=True,
            then=Read(
                _GUARD,
                {
                    "account_id": guard.ledger_account_id,
                    "least": guard.least_available,
                    "revision": revision,
                    "sid": guard.account_sid,
                },
            ),
        )
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) == GUARD_FAILED:
            raise GuardFailed(str(exc.orig)) from exc
        raise
    row = rows[0]
    if row.debits_posted is None:  # no ledger account guarded
        return Balance()
    return Balance(int(row.debits_posted), int(row.credits_posted), int(row.debits_pending), int(row.credits_pending))
