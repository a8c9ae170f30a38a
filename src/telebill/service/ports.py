"""Ports: what the services need from the outside world, as protocols the adapters implement."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, Protocol, Self, runtime_checkable

from telebill.domain.accounts import Account, ApiKey
from telebill.domain.catalog.deck import DeckContent, DeckVersion
from telebill.domain.catalog.plans import PricePlan
from telebill.domain.ledger import AccountKind, Balance, Leg, TransferKind
from telebill.domain.money import Currency
from telebill.domain.prepaid import BillingSettings
from telebill.service.step_ports import StepGuard, StepReads


class Clock(Protocol):
    """The current instant, always timezone-aware UTC. Tests move it; nothing sleeps."""

    def now(self) -> datetime: ...


class CatalogRepository(Protocol):
    """Decks, their versions and price plans, inside one unit of work."""

    def deck_currency(self, name: str) -> Currency | None: ...

    def add_deck(self, name: str, currency: Currency, created_at: datetime) -> None: ...

    def add_version(
        self,
        deck: str,
        effective_from: datetime,
        content: DeckContent,
        source: str,
        imported_at: datetime,
    ) -> int: ...

    def version_ids(self, deck: str) -> list[tuple[int, datetime]]: ...

    def load_version(self, version_id: int) -> DeckVersion: ...

    def list_decks(self) -> list[tuple[str, str, list[tuple[int, datetime, int]]]]: ...

    def add_plan(self, plan: PricePlan, created_at: datetime) -> None: ...

    def get_plan(self, name: str) -> PricePlan | None: ...

    def list_plans(self) -> list[PricePlan]: ...


class AccountRepository(Protocol):
    """Accounts and their keys; secrets only as hashes, JWT keys only as public keys."""

    def add(self, account: Account, auth_token_hash: str) -> Account: ...

    def get(self, sid: str) -> Account | None: ...

    def by_number(self, number: int) -> Account | None: ...

    def children(self, sid: str) -> list[Account]: ...

    def all(self) -> list[Account]: ...

    def auth_token_hash(self, sid: str) -> str | None: ...

    def set_plan(self, sid: str, plan: str | None) -> None: ...

    def add_key(self, key: ApiKey, secret_hash: str | None, public_key_pem: str | None) -> None: ...

    def key(self, sid: str) -> tuple[ApiKey, str | None, str | None] | None: ...

    def keys(self, account_sid: str) -> list[ApiKey]: ...

    def revoke_key(self, sid: str) -> None: ...


class JwtKeys(Protocol):
    """RS256 key pairs and token verification (Voximplant service-account keys)."""

    def generate(self) -> tuple[str, str]:
        """A new (private PEM, public PEM) pair."""
        ...

    def key_id(self, token: str) -> str | None:
        """The `kid` header of `token`, unverified; None if the token is malformed."""
        ...

    def verify(self, token: str, public_pem: str) -> dict[str, object]:
        """The claims of `token` if signed by the key and not expired; raises otherwise."""
        ...


class ExchangeRates(Protocol):
    """Exchange rates: units of `target` per unit of `source` in force at `at`."""

    def rate(self, source: Currency, target: Currency, at: datetime) -> Decimal:
        """1 for the same currency; NoRate when no rate is known for the pair and date."""
        ...


@runtime_checkable
class FxRepository(Protocol):
    """ECB reference rates: units of a currency per EUR, by business day."""

    def replace(self, rates: Sequence[tuple[date, str, Decimal]]) -> int: ...

    def per_eur(self, code: str, on_or_before: date) -> tuple[date, Decimal] | None: ...

    def span(self) -> tuple[date | None, date | None, int]: ...


class UnitOfWork(Protocol):
    """A transaction: rolled back on leaving the block unless `commit()` was called."""

    @property
    def catalog(self) -> CatalogRepository: ...

    @property
    def accounts(self) -> AccountRepository: ...

    @property
    def fx(self) -> FxRepository: ...

    @property
    def ledger(self) -> LedgerRepository: ...

    @property
    def billing(self) -> BillingRepository: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def read_ahead(self, reads: StepReads) -> bool:
        """A hint, given before the transaction's first read: these reads are coming. True
        when `reads.unlocked` was honoured: the step's settings and ledger reads take no
        locks, and the step commits with `commit_guarded`."""
        ...

    def commit_guarded(self, guard: StepGuard) -> Balance:
        """Commit only if `guard` holds (else GuardFailed, nothing committed); the guarded
        ledger account's balance as the transaction left it (zero if the guard names none)."""
        ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


@dataclass(frozen=True, slots=True)
class LedgerAccountRow:
    id: int
    code: str
    kind: AccountKind
    currency: str
    owner_sid: str | None
    balance: Balance


@dataclass(frozen=True, slots=True)
class TransferRow:
    id: int
    idempotency_key: str
    request_hash: str
    kind: TransferKind
    debit_account_id: int
    credit_account_id: int
    amount: int
    currency: str
    pending_id: int | None
    expires_at: datetime | None
    created_at: datetime
    reference: str
    fx_rate: Decimal | None


@dataclass(frozen=True, slots=True)
class LedgerEntryRow:
    """A transfer on one ledger account and what it changed there: `posted`, the posted credit
    balance (credits less debits); `held`, the holds (pending debits)."""

    transfer: TransferRow
    posted: int
    held: int


class LedgerRepository(Protocol):
    def account_by_code(self, code: str) -> LedgerAccountRow | None: ...

    def accounts_of_owner(self, owner_sid: str) -> list[LedgerAccountRow]: ...

    def create_account(self, code: str, kind: AccountKind, currency: str, owner_sid: str | None) -> int: ...

    def lock(self, account_ids: Iterable[int]) -> dict[int, LedgerAccountRow]: ...

    def add_to_balances(self, deltas: Mapping[int, Balance]) -> None:
        """Add each delta to its account's cached balance, in the mapping's order."""
        ...

    def transfer_by_key(self, key: str) -> TransferRow | None: ...

    def transfer(self, transfer_id: int) -> TransferRow | None: ...

    def settlement_of(self, pending_id: int) -> TransferRow | None: ...

    def hold(self, transfer_id: int) -> tuple[TransferRow, bool] | None:
        """A transfer and whether a settlement (post, void, expiry) refers to it."""
        ...

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
    ) -> int: ...

    def expired_holds(self, now: datetime, limit: int, after: datetime | None = None) -> list[TransferRow]:
        """Unsettled holds whose expiry is at or before `now` (and after `after`), soonest first."""
        ...

    def entries(self, account_id: int, limit: int, before: int | None) -> list[LedgerEntryRow]:
        """Newest first, by transfer id; with `before`, the entries older than that transfer."""
        ...

    def entry_totals_since(self, account_id: int, transfer_id: int) -> tuple[int, int]:
        """(posted, held) changed by `transfer_id` and the entries newer than it."""
        ...

    def has_entry(self, account_id: int, transfer_id: int) -> bool: ...

    def unbalanced_transfers(self) -> list[int]: ...

    def folded_balances(self) -> dict[int, Balance]: ...

    def cached_balances(self) -> dict[int, Balance]: ...

    def orphan_postings(self) -> int: ...

    def transfers_without_postings(self) -> int: ...


@dataclass(slots=True)
class CallRow:
    """A call as charged: its tariff frozen at authorisation and its progress."""

    account_sid: str
    call_id: str
    request_hash: str
    origin: str
    destination: str
    direction: str
    kind: str
    status: str
    reason: str
    currency: str
    deck_currency: str
    price_per_minute: Decimal
    initial_s: int
    subsequent_s: int
    connection_fee: Decimal
    rounding: str
    fx_rate: Decimal
    free: bool
    matched_prefix: str
    friendly_name: str
    deck: str
    granted_until_s: int
    used_s: int
    charged: int
    hold_transfer_id: int | None
    usage_seq: int
    duration_s: int | None
    billed_s: int | None
    answered: bool | None
    created_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class LineRow:
    e164: str
    account_sid: str
    international_calling: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PaymentRow:
    id: int | None
    account_sid: str
    idempotency_key: str
    request_hash: str
    amount: int
    currency: str
    provider: str
    status: str
    provider_reference: str
    reason: str
    transfer_id: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    account_sid: str
    topic: str
    dedupe_key: str
    payload: dict[str, object]
    created_at: datetime
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    failed_at: datetime | None
    last_error: str


class BillingRepository(Protocol):
    def settings(self, account_sid: str, lock: bool = False) -> BillingSettings | None: ...

    def save_settings(self, account_sid: str, settings: BillingSettings) -> None: ...

    def payment_by_key(self, key: str) -> PaymentRow | None: ...

    def mark(self, name: str) -> datetime | None:
        """How far the worker `name`'s passes are complete (None: never)."""
        ...

    def set_mark(self, name: str, at: datetime) -> None: ...

    def payments_of(self, account_sid: str, limit: int, before: int | None) -> list[PaymentRow]:
        """Newest first; with `before`, the payments recorded before that one."""
        ...

    def add_payment(self, payment: PaymentRow) -> None: ...

    def enqueue(
        self, account_sid: str, topic: str, dedupe_key: str, payload: dict[str, Any], now: datetime
    ) -> bool: ...

    def due(self, now: datetime, limit: int) -> list[OutboxRow]: ...

    def mark_outbox(self, outbox_id: int, claimed: int | None = None, **values: Any) -> bool:
        """Change the row; with `claimed` (the attempt count a worker's claim gave it), only if
        it still has that count and is neither delivered nor given up on: a worker whose lease
        ran out, or whose row the operator sent again, does not record over the one now on it.
        Whether it changed."""
        ...

    def outbox_of(self, account_sid: str) -> list[OutboxRow]: ...

    def outbox_page(
        self, account_sid: str | None, limit: int, before: int | None, failed_only: bool = False
    ) -> list[OutboxRow]: ...

    def outbox_row(self, outbox_id: int, lock: bool = False) -> OutboxRow | None: ...

    def call(self, account_sid: str, call_id: str, lock: bool = False) -> CallRow | None: ...

    def add_call(self, call: CallRow) -> None: ...

    def update_call(self, call: CallRow) -> None:
        """Store a call's progress: status, grant, usage, charge, hold and end. What it was
        authorised with (numbers, kind, the frozen tariff) never changes once stored."""
        ...

    def calls_of(self, account_sid: str, limit: int, before: datetime | None = None) -> list[CallRow]: ...

    def all_calls(self, account_sid: str) -> list[CallRow]: ...

    def line(self, e164: str) -> LineRow | None: ...

    def lines_of(self, account_sid: str) -> list[LineRow]: ...

    def add_line(self, line: LineRow) -> None: ...

    def set_international(self, e164: str, enabled: bool) -> None: ...

    def members(self, e164: str) -> list[str]: ...

    def assign(self, e164: str, key_sid: str) -> None: ...

    def unassign(self, e164: str, key_sid: str) -> None: ...

    def blocks(self, account_sid: str) -> list[tuple[str, str]]: ...

    def add_block(self, account_sid: str, kind: str, value: str, now: datetime) -> None: ...

    def remove_block(self, account_sid: str, kind: str, value: str) -> None: ...
