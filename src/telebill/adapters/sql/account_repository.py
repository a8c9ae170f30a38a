"""SQL mapping of accounts and API keys."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update

from telebill.adapters.sql import tables as t
from telebill.adapters.sql.account_tables import accounts, api_keys
from telebill.domain.accounts import Account, ApiKey, KeyKind, Role
from telebill.domain.errors import NotFound
from telebill.domain.money import currency


def _account(row: Any) -> Account:
    return Account(
        sid=row.sid,
        number=int(row.number),
        name=row.name,
        currency=currency(row.currency),
        plan=row.plan_name,
        parent_sid=row.parent_sid,
        created_at=row.created_at,
        active=bool(row.active),
    )


class SqlAccountRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _select(self) -> Any:
        return select(accounts, t.price_plans.c.name.label("plan_name")).outerjoin(
            t.price_plans, t.price_plans.c.id == accounts.c.plan_id
        )

    def _plan_id(self, plan: str | None) -> int | None:
        if plan is None:
            return None
        plan_id = self.conn.scalar(select(t.price_plans.c.id).where(t.price_plans.c.name == plan))
        if plan_id is None:
            raise NotFound(f"plan {plan!r} does not exist")
        return int(plan_id)

    def add(self, account: Account, auth_token_hash: str) -> Account:
        number = self.conn.scalar(
            insert(accounts)
            .values(
                sid=account.sid,
                name=account.name,
                currency=account.currency.code,
                plan_id=self._plan_id(account.plan),
                parent_sid=account.parent_sid,
                auth_token_hash=auth_token_hash,
                active=account.active,
                created_at=account.created_at,
            )
            .returning(accounts.c.number)
        )
        assert number is not None
        found = self.get(account.sid)
        assert found is not None
        return found

    def get(self, sid: str) -> Account | None:
        row = self.conn.execute(self._select().where(accounts.c.sid == sid)).one_or_none()
        return _account(row) if row else None

    def by_number(self, number: int) -> Account | None:
        row = self.conn.execute(self._select().where(accounts.c.number == number)).one_or_none()
        return _account(row) if row else None

    def children(self, sid: str) -> list[Account]:
        rows = self.conn.execute(self._select().where(accounts.c.parent_sid == sid).order_by(accounts.c.number))
        return [_account(r) for r in rows]

    def all(self) -> list[Account]:
        return [_account(r) for r in self.conn.execute(self._select().order_by(accounts.c.number))]

    def auth_token_hash(self, sid: str) -> str | None:
        value = self.conn.scalar(select(accounts.c.auth_token_hash).where(accounts.c.sid == sid))
        return str(value) if value is not None else None

    def set_plan(self, sid: str, plan: str | None) -> None:
        self.conn.execute(update(accounts).where(accounts.c.sid == sid).values(plan_id=self._plan_id(plan)))

    def add_key(self, key: ApiKey, secret_hash: str | None, public_key_pem: str | None) -> None:
        self.conn.execute(
            insert(api_keys).values(
                sid=key.sid,
                account_sid=key.account_sid,
                role=key.role.value,
                kind=key.kind.value,
                secret_hash=secret_hash,
                public_key_pem=public_key_pem,
                created_at=key.created_at,
                revoked=key.revoked,
            )
        )

    def key(self, sid: str) -> tuple[ApiKey, str | None, str | None] | None:
        row = self.conn.execute(select(api_keys).where(api_keys.c.sid == sid)).one_or_none()
        if row is None:
            return None
        key = ApiKey(row.sid, row.account_sid, Role(row.role), KeyKind(row.kind), row.created_at, bool(row.revoked))
        return key, row.secret_hash, row.public_key_pem

    def keys(self, account_sid: str) -> list[ApiKey]:
        rows = self.conn.execute(
            select(api_keys).where(api_keys.c.account_sid == account_sid).order_by(api_keys.c.created_at)
        )
        return [
            ApiKey(r.sid, r.account_sid, Role(r.role), KeyKind(r.kind), r.created_at, bool(r.revoked)) for r in rows
        ]

    def revoke_key(self, sid: str) -> None:
        self.conn.execute(update(api_keys).where(api_keys.c.sid == sid).values(revoked=True))
