"""An account's phone numbers (its calling lines) and its destination blocks.

International calling is off on every new line; only an admin or a manager may turn it on
(Allo's rule). A number belongs to one account. Blocks refuse calls to a country (ISO
alpha-2) or to a dialling prefix, whatever the price list says.
"""

from __future__ import annotations

from dataclasses import dataclass

from telebill.domain.accounts import Account, Principal, Role
from telebill.domain.catalog.entries import check_prefix
from telebill.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from telebill.domain.iso3166 import COUNTRY_NAMES
from telebill.domain.numbering import parse_number
from telebill.service.ports import Clock, LineRow, UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class Block:
    kind: str  # country | prefix
    value: str


class LineService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def add(self, account: Account, number: str) -> LineRow:
        e164 = parse_number(number).e164
        with self._uow() as uow:
            existing = uow.billing.line(e164)
            if existing is not None:
                if existing.account_sid == account.sid:
                    return existing
                raise Conflict(f"{e164} belongs to another account")
            line = LineRow(e164, account.sid, False, self._clock.now())
            uow.billing.add_line(line)
            uow.commit()
        return line

    def lines(self, account: Account) -> list[LineRow]:
        with self._uow() as uow:
            return uow.billing.lines_of(account.sid)

    def set_international(self, principal: Principal, account: Account, number: str, enabled: bool) -> LineRow:
        if principal.role not in (Role.ADMIN, Role.MANAGER):
            raise Forbidden("only an admin or a manager may change international calling")
        e164 = parse_number(number).e164
        with self._uow() as uow:
            line = uow.billing.line(e164)
            if line is None or line.account_sid != account.sid:
                raise NotFound(f"{e164} is not a number of this account")
            uow.billing.set_international(e164, enabled)
            uow.commit()
        return LineRow(line.e164, line.account_sid, enabled, line.created_at)

    def assign(self, principal: Principal, account: Account, number: str, key_sid: str, assigned: bool) -> list[str]:
        """Assign a team member (API key) to a line, or take them off it (admin or manager)."""
        if principal.role not in (Role.ADMIN, Role.MANAGER):
            raise Forbidden("only an admin or a manager may assign members to numbers")
        e164 = parse_number(number).e164
        with self._uow() as uow:
            line = uow.billing.line(e164)
            if line is None or line.account_sid != account.sid:
                raise NotFound(f"{e164} is not a number of this account")
            found = uow.accounts.key(key_sid)
            if found is None or found[0].account_sid != account.sid:
                raise NotFound(f"key {key_sid} is not a key of this account")
            if assigned:
                uow.billing.assign(e164, key_sid)
            else:
                uow.billing.unassign(e164, key_sid)
            members = uow.billing.members(e164)
            uow.commit()
        return members

    def members(self, account: Account, number: str) -> list[str]:
        e164 = parse_number(number).e164
        with self._uow() as uow:
            line = uow.billing.line(e164)
            if line is None or line.account_sid != account.sid:
                raise NotFound(f"{e164} is not a number of this account")
            return uow.billing.members(e164)

    def block(self, principal: Principal, account: Account, target: str) -> Block:
        block = _block_of(target)
        if principal.role not in (Role.ADMIN, Role.MANAGER):
            raise Forbidden("only an admin or a manager may change destination blocks")
        with self._uow() as uow:
            uow.billing.add_block(account.sid, block.kind, block.value, self._clock.now())
            uow.commit()
        return block

    def unblock(self, principal: Principal, account: Account, target: str) -> None:
        block = _block_of(target)
        if principal.role not in (Role.ADMIN, Role.MANAGER):
            raise Forbidden("only an admin or a manager may change destination blocks")
        with self._uow() as uow:
            uow.billing.remove_block(account.sid, block.kind, block.value)
            uow.commit()

    def blocks(self, account: Account) -> list[Block]:
        with self._uow() as uow:
            return [Block(k, v) for k, v in uow.billing.blocks(account.sid)]


def _block_of(target: str) -> Block:
    """`FR` blocks a country; `+881` or `881` blocks a prefix."""
    text = target.strip()
    if len(text) == 2 and text.isalpha():
        if text.upper() not in COUNTRY_NAMES:
            raise InvalidInput(f"block: {target!r} is not an ISO 3166 country code")
        return Block("country", text.upper())
    try:
        return Block("prefix", check_prefix(text))
    except ValueError:
        raise InvalidInput(f"block: {target!r} is neither a country code nor a dialling prefix") from None
