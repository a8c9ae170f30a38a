"""Ledger use cases, run inside the caller's unit of work so that money moves in the same
transaction as the business change that causes it (a call's state, a payment's record).

Every transfer carries an idempotency key: replaying it with the same content returns the
original transfer; with different content it is refused (IdempotencyConflict, HTTP 409).
Accounts are locked in id order before balances are read, checked and written.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from telebill.domain.errors import Conflict, IdempotencyConflict, InsufficientFunds, InvalidInput, NotFound
from telebill.domain.ledger import MAX_STORED_MICROS, AccountKind, Balance, TransferKind, apply, legs_of
from telebill.service.ports import LedgerAccountRow, LedgerRepository, TransferRow, UnitOfWorkFactory

MAX_STATEMENT_LINES = 1000


def customer_credit_code(account_sid: str, currency: str) -> str:
    return f"customer:{account_sid}:credit:{currency}"


def platform_code(kind: AccountKind, currency: str, service: str = "") -> str:
    suffix = f":{service}" if service else ""
    return f"platform:{kind.value}{suffix}:{currency}"


@dataclass(frozen=True, slots=True)
class Floor:
    """A lower bound on a credit-normal account's available balance (posted credit less
    holds): 0 under `cut_off`, minus the credit limit under `allow_negative`."""

    account_id: int
    minimum: int


class Ledger:
    """The ledger inside one unit of work. `known_ids` (account ids by code) and
    `known_currencies` (currency by account id) are caches a service keeps across
    transactions: accounts are never deleted and their currency never changes.

    An account is read, and locked, when a transfer needs its balance (a floor to check) or
    its currency is not known yet; otherwise its balance changes by a relative update, which
    locks the row only then (docs/adr/0010-charging-throughput.md)."""

    def __init__(
        self,
        repo: LedgerRepository,
        now: datetime,
        known_ids: dict[str, int] | None = None,
        known_currencies: dict[int, str] | None = None,
    ) -> None:
        self.repo = repo
        self.now = now
        self._known_ids = known_ids if known_ids is not None else {}
        self._balances: dict[int, Balance] = {}  # read in this transaction, as transfers left them
        self._currencies = known_currencies if known_currencies is not None else {}
        self._holds: dict[int, tuple[TransferRow, bool] | None] = {}

    def account(self, code: str, kind: AccountKind, currency: str, owner_sid: str | None = None) -> LedgerAccountRow:
        found = self.repo.account_by_code(code)
        if found is None:
            self.repo.create_account(code, kind, currency, owner_sid)
            found = self.repo.account_by_code(code)
        else:
            self._known_ids[code] = found.id
        assert found is not None
        return found

    def account_id(self, code: str, kind: AccountKind, currency: str, owner_sid: str | None = None) -> int:
        """The id of account `code` (created if missing) without reading its balance."""
        known = self._known_ids.get(code)
        return known if known is not None else self.account(code, kind, currency, owner_sid).id

    def customer_credit_id(self, account_sid: str, currency: str) -> int:
        code = customer_credit_code(account_sid, currency)
        return self.account_id(code, AccountKind.CUSTOMER_CREDIT, currency, account_sid)

    def platform_id(self, kind: AccountKind, currency: str, service: str = "") -> int:
        return self.account_id(platform_code(kind, currency, service), kind, currency)

    def lock(self, account_ids: list[int]) -> None:
        """Lock accounts not yet locked by this transaction, in id order."""
        missing = [i for i in account_ids if i not in self._balances]
        if missing:
            for account_id, row in self.repo.lock(missing).items():
                self._currencies[account_id] = row.currency
                self._balances[account_id] = row.balance

    def balance(self, account_id: int) -> Balance:
        """The account's balance in this transaction: as the last transfer left it, else read
        (and locked)."""
        if account_id not in self._balances:
            row = self.repo.lock([account_id])[account_id]
            self._balances[account_id] = row.balance
            self._currencies[account_id] = row.currency
        return self._balances[account_id]

    def customer_credit(self, account_sid: str, currency: str) -> LedgerAccountRow:
        return self.account(
            customer_credit_code(account_sid, currency), AccountKind.CUSTOMER_CREDIT, currency, account_sid
        )

    def platform(self, kind: AccountKind, currency: str, service: str = "") -> LedgerAccountRow:
        return self.account(platform_code(kind, currency, service), kind, currency)

    def hold(self, transfer_id: int) -> tuple[TransferRow, bool] | None:
        """A transfer and whether it is settled, as this transaction last saw or left it."""
        if transfer_id not in self._holds:
            self._holds[transfer_id] = self.repo.hold(transfer_id)
        return self._holds[transfer_id]

    def transfer(
        self,
        key: str,
        kind: TransferKind,
        debit_account_id: int,
        credit_account_id: int,
        amount: int,
        currency: str,
        reference: str,
        *,
        pending_id: int | None = None,
        expires_at: datetime | None = None,
        fx_rate: Decimal | None = None,
        floor: Floor | None = None,
        guarded: bool = False,
    ) -> TransferRow:
        """Move money. `guarded`: the caller holds a lock on a row whose state records that this
        step happened (a call row), so a replay cannot reach here; the idempotency key is then
        not looked up first, and its unique constraint stays the last line of defence."""
        request = {
            "kind": kind.value,
            "debit": debit_account_id,
            "credit": credit_account_id,
            "amount": amount,
            "currency": currency,
            "reference": reference,
            "pending_id": pending_id,
        }
        digest = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
        existing = None if guarded else self.repo.transfer_by_key(key)
        if existing is not None:
            if existing.request_hash != digest:
                raise IdempotencyConflict(f"idempotency key {key!r} was used for a different transfer")
            return existing
        pending_amount = 0
        hold: TransferRow | None = None
        if kind in (TransferKind.POST_PENDING, TransferKind.VOID_PENDING, TransferKind.EXPIRE_PENDING):
            state = self.hold(pending_id) if pending_id is not None else None
            if state is None or state[0].kind is not TransferKind.PENDING:
                raise NotFound(f"no hold {pending_id}")
            hold, settled = state
            if settled:
                raise Conflict(f"hold {hold.id} is already settled")
            if (hold.debit_account_id, hold.credit_account_id) != (debit_account_id, credit_account_id):
                raise Conflict(f"hold {hold.id} moves money between other accounts")
            pending_amount = hold.amount
        legs = legs_of(kind, debit_account_id, credit_account_id, amount, pending_amount)
        ids = (debit_account_id, credit_account_id)
        floor_id = floor.account_id if floor is not None else None
        # rows are read once per transaction; later transfers reuse what they left
        self.lock([i for i in ids if i not in self._balances and (i == floor_id or i not in self._currencies)])
        if any(i not in self._currencies for i in ids):
            raise NotFound("ledger account missing")
        if any(self._currencies[i] != currency for i in ids):
            # a cached currency may come from a transaction that rolled back (an id reused):
            # read the rows before refusing
            self.lock([i for i in ids if self._currencies[i] != currency])
            if any(self._currencies[i] != currency for i in ids):
                raise Conflict(f"a {currency} transfer between accounts of other currencies")
        deltas: dict[int, Balance] = {}
        for leg in legs:
            deltas[leg.account_id] = apply(deltas.get(leg.account_id, Balance()), leg)
        if floor is not None and floor.account_id in deltas:
            before = self._balances[floor.account_id]
            after = before.plus(deltas[floor.account_id]).credit_available
            if after < before.credit_available and after < floor.minimum:
                raise InsufficientFunds(
                    f"transfer of {amount} micros would leave {after} available (floor {floor.minimum})"
                )
        for account_id, delta in deltas.items():
            known = self._balances.get(account_id)
            if known is not None and _largest(known.plus(delta)) > MAX_STORED_MICROS:
                raise InvalidInput(f"ledger account {account_id} would hold more than {MAX_STORED_MICROS} micros")
        # rows read by this transaction first, in the order they were read (and locked, unless
        # the step reads without locks: its updates then lock them in that order, its customer's
        # first), then the others in id order
        read = {account_id: i for i, account_id in enumerate(self._balances)}
        ordered = dict(sorted(deltas.items(), key=lambda item: (read.get(item[0], len(read)), item[0])))
        self.repo.add_to_balances(ordered)
        for account_id, delta in deltas.items():
            if account_id in self._balances:
                self._balances[account_id] = self._balances[account_id].plus(delta)
        new_id = self.repo.insert_transfer(
            key, digest, kind, debit_account_id, credit_account_id, amount, currency,
            pending_id, expires_at, self.now, reference, fx_rate, legs,
        )  # fmt: skip
        created = TransferRow(
            new_id, key, digest, kind, debit_account_id, credit_account_id, amount, currency,
            pending_id, expires_at, self.now, reference[:200], fx_rate,
        )  # fmt: skip
        if hold is not None:
            self._holds[hold.id] = (hold, True)
        if kind is TransferKind.PENDING:
            self._holds[new_id] = (created, False)
        return created


def _largest(b: Balance) -> int:
    return max(b.debits_posted, b.credits_posted, b.debits_pending, b.credits_pending)


@dataclass(frozen=True, slots=True)
class VerifyReport:
    transfers_unbalanced: list[int]
    accounts_mismatched: list[int]
    orphan_postings: int
    transfers_without_postings: int

    @property
    def ok(self) -> bool:
        return not (
            self.transfers_unbalanced
            or self.accounts_mismatched
            or self.orphan_postings
            or self.transfers_without_postings
        )


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One transfer on a customer's credit: its change to the posted balance (`amount`) and to
    the holds (`held`), and both as they stood after it."""

    transfer: TransferRow
    amount: int
    held: int
    balance: int
    holds: int


@dataclass(frozen=True, slots=True)
class Statement:
    """A page of a customer's ledger entries, newest first, with the balance and holds now;
    `more`: older entries follow the last line."""

    currency: str
    balance: int
    holds: int
    lines: list[StatementLine]
    more: bool


class LedgerService:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def statement(self, account_sid: str, currency: str, limit: int = 100, before: int | None = None) -> Statement:
        """The entries of the account's credit, newest first, each with the balance after it.
        `before`: the id of the last line of the previous page."""
        if not 1 <= limit <= MAX_STATEMENT_LINES:
            raise InvalidInput(f"limit must be 1..{MAX_STATEMENT_LINES}")
        with self._uow() as uow:
            found = uow.ledger.account_by_code(customer_credit_code(account_sid, currency))
            if found is None:
                if before is not None:
                    raise InvalidInput(f"before: {before} is not an entry of this account")
                return Statement(currency, 0, 0, [], False)
            # locked: no transfer on the account commits between the balance read and the entries'
            now = uow.ledger.lock([found.id])[found.id].balance
            if before is not None and not uow.ledger.has_entry(found.id, before):
                raise InvalidInput(f"before: {before} is not an entry of this account")
            rows = uow.ledger.entries(found.id, limit + 1, before)
            since = uow.ledger.entry_totals_since(found.id, before) if before is not None else (0, 0)
        # the balance after the page's first line: now, less what that line's predecessor and
        # the newer entries changed
        balance, holds = now.credit_balance - since[0], now.debits_pending - since[1]
        lines = []
        for row in rows[:limit]:
            lines.append(StatementLine(row.transfer, row.posted, row.held, balance, holds))
            balance, holds = balance - row.posted, holds - row.held
        return Statement(currency, now.credit_balance, now.debits_pending, lines, len(rows) > limit)

    def verify(self) -> VerifyReport:
        """Each transfer balances; cached balances equal the fold of postings; no posting
        without its transfer and no transfer without postings."""
        with self._uow() as uow:
            repo = uow.ledger
            folded = repo.folded_balances()
            cached = repo.cached_balances()
            mismatched = sorted(
                a for a in cached.keys() | folded.keys() if cached.get(a, Balance()) != folded.get(a, Balance())
            )
            return VerifyReport(
                repo.unbalanced_transfers(),
                mismatched,
                repo.orphan_postings(),
                repo.transfers_without_postings(),
            )
