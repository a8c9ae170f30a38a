"""Wire shapes shared by the CLI and the HTTP API: quotes, charges and notifications as
JSON-ready dicts.

Amounts are decimal strings, never numbers, so no client can turn them into floats.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from telebill.domain.errors import InvalidInput
from telebill.domain.money import format_decimal
from telebill.domain.rating import Charge
from telebill.service.catalog import PriceLine
from telebill.service.notification_history import NotificationState, public_error


def parse_instant(text: str | None, option: str) -> datetime | None:
    """ISO date or date-time; naive values are UTC; a date means its midnight UTC."""
    if text is None:
        return None
    try:
        if len(text) == 10:
            d = date.fromisoformat(text)
            return datetime(d.year, d.month, d.day, tzinfo=UTC)
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{option}: {text!r} is not an ISO 8601 date or date-time") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def line_json(line: PriceLine) -> dict[str, Any]:
    q = line.quote
    if q is None:
        return {
            "destination": line.text,
            "origin": line.origin.e164 if line.origin else None,
            "error": line.error,
        }
    e, tariff = q.entry, q.entry.tariff
    return {
        "destination": q.destination.e164,
        "origin": q.origin.e164 if q.origin else None,
        "country": q.destination.country,
        "number_type": q.destination.number_type.value,
        "matched_prefix": e.prefix,
        "origin_selector": e.origin,
        "friendly_name": e.friendly_name,
        "current_price": format_decimal(q.current_price),
        "base_price": format_decimal(tariff.base_price),
        "currency": q.deck.currency.code,
        "increments": str(tariff.increments),
        "connection_fee": format_decimal(tariff.connection_fee),
        "free": tariff.free,
        "blocked": tariff.blocked,
        "deck": q.deck.label,
        "tier": q.tier.describe(),
    }


def charge_json(charge: Charge) -> dict[str, Any]:
    q = charge.quote
    return {
        "origin": q.origin.e164 if q.origin else None,
        "destination": q.destination.e164,
        "charge": format_decimal(charge.amount),
        "currency": charge.currency.code,
        "billed_s": charge.billed_s,
        "rate": format_decimal(charge.price_per_minute),
        "base_price": format_decimal(q.base_price),
        "connection_fee": format_decimal(charge.connection_fee),
        "increments": str(q.entry.tariff.increments),
        "rounding": str(charge.rounding),
        "matched_prefix": q.entry.prefix,
        "origin_selector": q.entry.origin,
        "friendly_name": q.entry.friendly_name,
        "free": q.entry.tariff.free,
        "deck": q.deck.label,
        "tier": q.tier.describe(),
        "explanation": charge.explain(),
    }


def notification_json(n: NotificationState, operator: bool = False) -> dict[str, Any]:
    """A notification and its delivery state. The account sees its payload and the kind of a
    failure only (the stored error may name internal hosts); the operator sees the account and
    the stored error."""
    r = n.row
    shape: dict[str, Any] = {"id": r.id}
    if operator:
        shape["account_sid"] = r.account_sid
    shape.update(
        {
            "topic": r.topic,
            "status": n.status,
            "created_at": r.created_at.isoformat(),
            "attempts": r.attempts,
            "next_attempt_at": r.next_attempt_at.isoformat() if n.status in ("pending", "retrying") else None,
            "delivered_at": r.delivered_at.isoformat() if r.delivered_at else None,
            "failed_at": r.failed_at.isoformat() if r.failed_at else None,
            "last_error": (r.last_error or None) if operator else public_error(r.last_error),
        }
    )
    if not operator:
        shape["payload"] = r.payload
    return shape
