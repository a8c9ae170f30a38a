"""Native API for prepaid accounts: balance and settings, top-ups, phone numbers and
destination blocks, and real-time call charging (authorise, usage, end, history).

Every route is under `/v1/accounts/{sid}`; the caller must see that account (its own or a
sub-account). Money-moving requests are idempotent: top-ups by the `Idempotency-Key`
header, calls by their `call_id` (and each usage report by the time it reports).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, Field

from telebill.domain.accounts import Account, Principal, Role
from telebill.domain.money import format_decimal, format_micros
from telebill.entrypoints.api.auth import basic_principal, bearer_token, container_of
from telebill.entrypoints.api.pages import Before, Limit, PaymentsBefore
from telebill.service.credits import AccountBalance
from telebill.service.ports import CallRow, LineRow

router = APIRouter(prefix="/v1/accounts", tags=["billing"])
T = TypeVar("T")
Caller = Annotated[Principal, Depends(basic_principal)]


def _money(micros: int, account: Account) -> str:
    return format_micros(micros, account.currency)


def _account(request: Request, principal: Principal, sid: str) -> Account:
    """The account `sid` as the principal may see it (its own: no storage read)."""
    return container_of(request).accounts.visible_account(principal, sid)


def balance_json(account: Account, b: AccountBalance) -> dict[str, Any]:
    s = b.settings
    return {
        "sid": account.sid,
        "name": account.name,
        "currency": b.currency,
        "balance": _money(b.balance, account),
        "holds": _money(b.holds, account),
        "available": _money(b.available, account),
        "policy": s.policy.value,
        "credit_limit": _money(s.credit_limit, account),
        "low_balance_threshold": _money(s.low_balance_threshold, account),
        "auto_recharge": {
            "enabled": s.auto_recharge_enabled,
            "threshold": _money(s.auto_recharge_threshold, account),
            "amount": _money(s.auto_recharge_amount, account),
            "in_flight": s.auto_recharge_in_flight,
            "declined": s.auto_recharge_declined,
            "spent": s.auto_recharge_spent,  # this crossing had its recharge; a top-up above re-arms
        },
        "billing_address": s.billing_address,
        "vat_number": s.vat_number,
        "suspended": s.suspended,
        "webhook_url": s.webhook_url,
        "notify_email": s.notify_email,
    }


@router.get("/{sid}")
def get_account(request: Request, principal: Caller, sid: str) -> dict[str, Any]:
    """Balance, holds, available credit, currency, policy and thresholds."""
    account = _account(request, principal, sid)
    return balance_json(account, container_of(request).credits.balance(account))


class SettingsBody(BaseModel):
    policy: Literal["cut_off", "allow_negative"] | None = None
    credit_limit: str | None = Field(None, description="Decimal string, account currency.")
    low_balance_threshold: str | None = None
    auto_recharge_enabled: bool | None = None
    auto_recharge_threshold: str | None = None
    auto_recharge_amount: str | None = None
    billing_address: str | None = Field(None, max_length=500)
    vat_number: str | None = Field(None, max_length=40)
    webhook_url: str | None = Field(None, max_length=500)
    webhook_secret: str | None = Field(None, max_length=100)
    notify_email: str | None = Field(None, max_length=254, description="Notifications by e-mail, without a webhook.")


@router.patch("/{sid}")
def update_account(request: Request, principal: Caller, sid: str, body: SettingsBody) -> dict[str, Any]:
    """Change prepaid settings (admin or manager)."""
    account = _account(request, principal, sid)
    container_of(request).accounts.require_role(principal, Role.ADMIN, Role.MANAGER)
    changes = body.model_dump(exclude_none=True)
    return balance_json(account, container_of(request).credits.update_settings(account, changes))


class TopUpBody(BaseModel):
    amount: str = Field(description='Decimal string in the account currency, e.g. "25.00".')


async def _payer(request: Request) -> Principal | None:
    """Who adds funds: the operator (bearer operator token; None) or a customer (Basic)."""
    token = bearer_token(request)
    if token is not None and container_of(request).accounts.is_operator(token):
        return None
    return await basic_principal(request)


@router.post("/{sid}/topups")
def top_up(
    request: Request,
    payer: Annotated[Principal | None, Depends(_payer)],
    sid: str,
    body: TopUpBody,
    idempotency_key: Annotated[str, Header(alias="Idempotency-Key", min_length=1, max_length=150)],
) -> dict[str, Any]:
    """Add credit through the payment provider. Replaying the key returns the first result.
    A customer (admin or manager) adds funds through a provider that collects the payment;
    with the built-in provider, which records payments received by other means, only the
    operator may (`Authorization: Bearer <operator token>`)."""
    accounts = container_of(request).accounts
    account = accounts.account(sid) if payer is None else _account(request, payer, sid)
    result = container_of(request).credits.top_up(account, body.amount, idempotency_key, by=payer)
    return {
        "status": result.payment_status,
        "amount": format_decimal(result.amount),
        "currency": result.currency,
        "reason": result.reason or None,
        "replayed": result.replayed,
        "account": balance_json(account, result.balance),
    }


def _line_json(line: LineRow) -> dict[str, Any]:
    return {
        "phone_number": line.e164,
        "international_calling": line.international_calling,
        "created_at": line.created_at.isoformat(),
    }


class NumberBody(BaseModel):
    phone_number: str = Field(max_length=32)


@router.post("/{sid}/numbers", status_code=201)
def add_number(request: Request, principal: Caller, sid: str, body: NumberBody) -> dict[str, Any]:
    """Attach a number the customer already holds (international calling starts off)."""
    account = _account(request, principal, sid)
    container_of(request).accounts.require_role(principal, Role.ADMIN, Role.MANAGER)
    return _line_json(container_of(request).lines.add(account, body.phone_number))


@router.get("/{sid}/numbers")
def list_numbers(request: Request, principal: Caller, sid: str) -> dict[str, Any]:
    account = _account(request, principal, sid)
    return {"numbers": [_line_json(line) for line in container_of(request).lines.lines(account)]}


class NumberPatch(BaseModel):
    international_calling: bool


@router.patch("/{sid}/numbers/{e164}")
def patch_number(request: Request, principal: Caller, sid: str, e164: str, body: NumberPatch) -> dict[str, Any]:
    """Toggle international calling on a line (admin or manager only)."""
    account = _account(request, principal, sid)
    lines = container_of(request).lines
    return _line_json(lines.set_international(principal, account, e164, body.international_calling))


class MemberBody(BaseModel):
    key_sid: str = Field(pattern=r"^SK[0-9a-f]{32}$", description="The team member's API key.")


@router.get("/{sid}/numbers/{e164}/members")
def list_members(request: Request, principal: Caller, sid: str, e164: str) -> dict[str, Any]:
    account = _account(request, principal, sid)
    return {"phone_number": e164, "members": container_of(request).lines.members(account, e164)}


@router.post("/{sid}/numbers/{e164}/members", status_code=201)
def assign_member(request: Request, principal: Caller, sid: str, e164: str, body: MemberBody) -> dict[str, Any]:
    """Assign a member to a line: a member key places outbound calls only from its lines."""
    account = _account(request, principal, sid)
    members = container_of(request).lines.assign(principal, account, e164, body.key_sid, True)
    return {"phone_number": e164, "members": members}


@router.delete("/{sid}/numbers/{e164}/members/{key_sid}")
def unassign_member(request: Request, principal: Caller, sid: str, e164: str, key_sid: str) -> dict[str, Any]:
    account = _account(request, principal, sid)
    members = container_of(request).lines.assign(principal, account, e164, key_sid, False)
    return {"phone_number": e164, "members": members}


class BlockBody(BaseModel):
    destination: str = Field(description="ISO country code (FR) or dialling prefix (+881).", max_length=16)


@router.get("/{sid}/blocks")
def list_blocks(request: Request, principal: Caller, sid: str) -> dict[str, Any]:
    account = _account(request, principal, sid)
    return {"blocks": [{"kind": b.kind, "value": b.value} for b in container_of(request).lines.blocks(account)]}


@router.post("/{sid}/blocks", status_code=201)
def add_block(request: Request, principal: Caller, sid: str, body: BlockBody) -> dict[str, Any]:
    account = _account(request, principal, sid)
    block = container_of(request).lines.block(principal, account, body.destination)
    return {"kind": block.kind, "value": block.value}


@router.delete("/{sid}/blocks/{destination}", status_code=204)
def remove_block(request: Request, principal: Caller, sid: str, destination: str) -> None:
    account = _account(request, principal, sid)
    container_of(request).lines.unblock(principal, account, destination)


def call_json(call: CallRow, account: Account) -> dict[str, Any]:
    return {
        "call_id": call.call_id,
        "from": call.origin,
        "to": call.destination,
        "direction": call.direction,
        "kind": call.kind,
        "status": call.status,
        "reason": call.reason or None,
        "charge": _money(call.charged, account),
        "currency": call.currency,
        "rate": format_decimal(call.price_per_minute),
        "rate_currency": call.deck_currency,
        "fx_rate": format_decimal(call.fx_rate),
        "increments": f"{call.initial_s}/{call.subsequent_s}",
        "connection_fee": format_decimal(call.connection_fee),
        "matched_prefix": call.matched_prefix or None,
        "friendly_name": call.friendly_name or None,
        "deck": call.deck or None,
        "free": call.free,
        "duration_s": call.duration_s,
        "billed_s": call.billed_s,
        "answered": call.answered,
        "created_at": call.created_at.isoformat(),
        "ended_at": call.ended_at.isoformat() if call.ended_at else None,
    }


@router.get("/{sid}/calls")
def call_history(
    request: Request,
    principal: Caller,
    sid: str,
    limit: Limit = 100,
    before: datetime | None = None,
) -> dict[str, Any]:
    """Calls, newest first, with the exact amount charged, the rate, prefix and FX rate.
    `status`: refused, active, ended, or expired (no end came before its hold timed out; a
    late end still settles it)."""
    account = _account(request, principal, sid)
    calls = container_of(request).charging.history(account, limit, before)
    return {"calls": [call_json(c, account) for c in calls]}


@router.get("/{sid}/statement")
def statement(
    request: Request,
    principal: Caller,
    sid: str,
    limit: Limit = 100,
    before: Before = None,
) -> dict[str, Any]:
    """Every movement of the account's credit, newest first: top-ups, call and SMS charges,
    holds and their settlement, corrections. `amount` is the change to the balance, `held` the
    change to the holds; `balance`, `holds` and `available` are as they stood after it."""
    account = _account(request, principal, sid)
    st = container_of(request).ledger.statement(account.sid, account.currency.code, limit, before)
    return {
        "currency": st.currency,
        "balance": _money(st.balance, account),
        "holds": _money(st.holds, account),
        "available": _money(st.balance - st.holds, account),
        "entries": [
            {
                "id": line.transfer.id,
                "created_at": line.transfer.created_at.isoformat(),
                "kind": line.transfer.kind.value,
                "reference": line.transfer.reference,
                "amount": _money(line.amount, account),
                "held": _money(line.held, account),
                "balance": _money(line.balance, account),
                "holds": _money(line.holds, account),
                "available": _money(line.balance - line.holds, account),
                "fx_rate": format_decimal(line.transfer.fx_rate) if line.transfer.fx_rate is not None else None,
            }
            for line in st.lines
        ],
        "next_before": st.lines[-1].transfer.id if st.more else None,
    }


@router.get("/{sid}/payments")
def payment_history(
    request: Request,
    principal: Caller,
    sid: str,
    limit: Limit = 100,
    before: PaymentsBefore = None,
) -> dict[str, Any]:
    """Top-ups, newest first, declined ones included: the key they were sent with, the amount,
    the provider's reference and, when declined, why; `transfer_id` is the credit's entry in
    the statement."""
    account = _account(request, principal, sid)
    rows, more = container_of(request).credits.payments(account, limit, before)
    prefix = f"{account.sid}:"
    return {
        "payments": [
            {
                "id": p.id,
                "idempotency_key": p.idempotency_key.removeprefix(prefix),
                "amount": _money(p.amount, account),
                "currency": p.currency,
                "status": p.status,
                "provider": p.provider,
                "provider_reference": p.provider_reference,
                "reason": p.reason or None,
                "transfer_id": p.transfer_id,
                "created_at": p.created_at.isoformat(),
            }
            for p in rows
        ],
        "next_before": rows[-1].id if more else None,
    }
