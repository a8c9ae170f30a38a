"""Call admission: may this call start, and at what price — the policy checks of an
authorisation and the tariff frozen on the call (ADR 9)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from telebill.domain.accounts import Account
from telebill.domain.charging import CallKind, Refusal
from telebill.domain.errors import InvalidInput, InvalidNumber, NoPrice
from telebill.domain.numbering import EmergencyNumber, PhoneNumber, parse_number
from telebill.domain.prepaid import BillingSettings
from telebill.service.ports import CallRow, UnitOfWork
from telebill.service.pricing import PriceView


@dataclass(frozen=True, slots=True)
class CallRequest:
    call_id: str
    origin: str
    destination: str
    direction: str = "outbound"
    kind: str = "voice"
    member_key: str | None = None  # a team member's key: outbound calls only from their lines


def asked_call(account: Account, r: CallRequest, kind: CallKind, digest: str, now: datetime) -> CallRow:
    """The call as asked, before admission: no tariff yet, nothing granted or charged."""
    return CallRow(
        account_sid=account.sid, call_id=r.call_id, request_hash=digest, origin=r.origin[:16],
        destination=r.destination[:16], direction=r.direction, kind=kind.value, status="active", reason="",
        currency=account.currency.code, deck_currency=account.currency.code, price_per_minute=Decimal(0),
        initial_s=1, subsequent_s=1, connection_fee=Decimal(0), rounding="half_up:6", fx_rate=Decimal(1),
        free=False, matched_prefix="", friendly_name="", deck="", granted_until_s=0, used_s=0, charged=0,
        hold_transfer_id=None, usage_seq=0, duration_s=None, billed_s=None, answered=None, created_at=now,
        ended_at=None,
    )  # fmt: skip


def admit(
    uow: UnitOfWork,
    account: Account,
    r: CallRequest,
    kind: CallKind,
    call: CallRow,
    view: PriceView | None,
) -> tuple[Refusal | None, CallRow]:
    """Policy checks, then the tariff frozen on the call; a refusal reason if any.

    Order: the line belongs to the account (and, for a member's key, is assigned to it),
    emergency number, SMS to another country, international calling on the line, the
    account's destination blocks, then the price (a blocked entry refuses). A suspended
    account is refused before all of these, by the caller (`suspended`), which reads the
    prepaid settings under a lock and so after these reads."""
    line_text = r.origin if r.direction == "outbound" else r.destination
    try:
        line_number = parse_number(line_text)
    except InvalidNumber:
        return Refusal.NOT_A_LINE_OF_THE_ACCOUNT, call
    line = uow.billing.line(line_number.e164)
    if line is None or line.account_sid != account.sid:
        return Refusal.NOT_A_LINE_OF_THE_ACCOUNT, call
    if r.member_key and r.direction == "outbound" and r.member_key not in uow.billing.members(line.e164):
        return Refusal.LINE_NOT_ASSIGNED_TO_MEMBER, call
    other_text = r.destination if r.direction == "outbound" else r.origin
    try:
        other = parse_number(other_text, line_number.country)
    except EmergencyNumber:
        return Refusal.EMERGENCY_NUMBER, call
    except InvalidNumber as exc:
        raise InvalidInput(f"{'to' if r.direction == 'outbound' else 'from'}: {exc.reason}") from None
    call = replace(call, origin=line_number.e164 if r.direction == "outbound" else other.e164,
                   destination=other.e164 if r.direction == "outbound" else line_number.e164)  # fmt: skip
    if r.direction == "outbound":
        if kind is CallKind.SMS and other.country != line_number.country:
            return Refusal.SMS_TO_ANOTHER_COUNTRY, call
        if other.country != line_number.country and not line.international_calling:
            return Refusal.INTERNATIONAL_CALLING_DISABLED, call
        if _blocked_by_account(uow.billing.blocks(account.sid), other):
            return Refusal.DESTINATION_BLOCKED, call
    if view is None:
        return Refusal.NO_PRICE, call
    try:
        # SMS and inbound prices come from the list deck, in its currency, with the plan's
        # rate frozen beside them: the charge is computed in the deck currency and then
        # converted (ADR 6), and the call records the rate it used, as outbound calls do
        deck = view.list_deck
        if kind is CallKind.SMS:
            if r.direction == "outbound":
                price = deck.sms_price(other).current_price
            else:
                inbound_sms = [p for p in deck.sms if p.country == line_number.country]
                price = inbound_sms[0].inbound_price if inbound_sms else Decimal(0)
            return None, replace(
                call, price_per_minute=price, fx_rate=view.fx_rate, deck_currency=deck.currency.code,
                matched_prefix=other.country or "", deck=deck.label, friendly_name=f"SMS {other.country}",
            )  # fmt: skip
        if r.direction == "inbound":
            inbound = deck.inbound_price(line_number, other)
            return None, replace(
                call, price_per_minute=inbound.current_price, initial_s=inbound.increments.initial,
                subsequent_s=inbound.increments.subsequent, connection_fee=inbound.connection_fee,
                rounding=str(inbound.rounding), free=inbound.current_price == 0 and inbound.connection_fee == 0,
                fx_rate=view.fx_rate, deck_currency=deck.currency.code, matched_prefix=inbound.number_type.value,
                friendly_name=f"inbound {inbound.country} {inbound.number_type.value}", deck=deck.label,
            )  # fmt: skip
        quote, _ = view.quote(other, line_number)
    except NoPrice:
        return Refusal.NO_PRICE, call
    tariff = quote.entry.tariff
    if tariff.blocked:
        return Refusal.DESTINATION_BLOCKED, call
    return None, replace(
        call, price_per_minute=quote.current_price, initial_s=tariff.increments.initial,
        subsequent_s=tariff.increments.subsequent, connection_fee=tariff.connection_fee,
        rounding=str(tariff.rounding), fx_rate=view.fx_rate, free=tariff.free,
        deck_currency=quote.deck.currency.code, matched_prefix=quote.entry.prefix,
        friendly_name=quote.entry.friendly_name, deck=quote.deck.label,
    )  # fmt: skip


def line_e164_of(r: CallRequest) -> str | None:
    """The number of the account's line in the request (the caller when outbound), if it is
    one: what `admit` looks up (parsing is memoised, so parsing it here costs nothing more)."""
    try:
        return parse_number(r.origin if r.direction == "outbound" else r.destination).e164
    except InvalidNumber:
        return None


def suspended(account: Account, settings: BillingSettings) -> bool:
    return settings.suspended or not account.active


def _blocked_by_account(blocks: list[tuple[str, str]], number: PhoneNumber) -> bool:
    for kind, value in blocks:
        if kind == "country" and number.country == value:
            return True
        if kind == "prefix" and number.digits.startswith(value):
            return True
    return False
