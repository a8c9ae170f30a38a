"""Indexes built by migrations on PostgreSQL without blocking writes (CREATE INDEX
CONCURRENTLY), so that a migration whose build failed part way can simply be run again.

A concurrent build that fails (a deadlock, a cancelled statement, a lost connection) leaves an
INVALID index of its name behind, which PostgreSQL keeps up to date but never uses, and which
makes the next CREATE INDEX of that name fail. Run again, `build_concurrently` drops such a
leftover and builds the index; a VALID index of that name is the build that succeeded before
(the migration failed later), kept as it is rather than rebuilt on a large table. Call it
inside `op.get_context().autocommit_block()`: a concurrent build cannot run in a transaction.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op


def _valid(name: str) -> bool | None:
    """Whether the index `name` is VALID; None when there is none."""
    found = op.get_bind().execute(
        sa.text(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE c.relname = :name AND pg_catalog.pg_table_is_visible(c.oid)"
        ),
        {"name": name},
    )
    row = found.first()
    return None if row is None else bool(row[0])


def build_concurrently(name: str, table: str, columns: list[str], **kw: Any) -> None:
    """CREATE INDEX CONCURRENTLY, unless a VALID index `name` is there already; an INVALID one
    (a failed build) is dropped first."""
    valid = _valid(name)
    if valid:
        return
    if valid is False:
        op.drop_index(name, table, postgresql_concurrently=True)
    op.create_index(name, table, columns, postgresql_concurrently=True, **kw)
