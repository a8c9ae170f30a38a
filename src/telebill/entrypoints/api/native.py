"""The native JSON API (`/v1/...`): price queries the compatibility APIs do not cover.

Every route is scoped to the authenticated account's price plan and currency; amounts are
decimal strings.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from telebill.domain.accounts import Principal
from telebill.domain.errors import InvalidInput, TelebillError
from telebill.domain.money import format_decimal
from telebill.domain.numbering import parse_number
from telebill.domain.rating import CallUsage, rate_call
from telebill.entrypoints.api.auth import basic_principal, container_of
from telebill.entrypoints.presenters import charge_json, parse_instant
from telebill.service.pricing import PricedRate, PriceView

router = APIRouter(prefix="/v1", tags=["native"])
Caller = Annotated[Principal, Depends(basic_principal)]


def _view(request: Request, principal: Principal, at: str | None) -> PriceView:
    return container_of(request).pricing.view(principal.account, parse_instant(at, "at"))


def _rate_json(view: PriceView, r: PricedRate) -> dict[str, Any]:
    t = r.entry.tariff
    return {
        "prefix": r.entry.prefix,
        "origin": r.entry.origin,
        "friendly_name": r.entry.friendly_name,
        "iso_country": r.entry.iso_country or None,
        "base_price": format_decimal(r.base_price),
        "current_price": format_decimal(r.current_price),
        "price_unit": view.currency.code,
        "increments": str(t.increments),
        "connection_fee": format_decimal(view.convert(t.connection_fee)),
        "free": t.free,
        "blocked": t.blocked,
    }


@router.get("/account")
def account(request: Request, principal: Caller) -> dict[str, Any]:
    """The authenticated account and its sub-accounts."""
    accounts = container_of(request).accounts.visible_accounts(principal)
    return {
        "sid": principal.account.sid,
        "role": principal.role.value,
        "accounts": [
            {
                "sid": a.sid,
                "name": a.name,
                "currency": a.currency.code,
                "plan": a.plan,
                "parent_sid": a.parent_sid,
                "created_at": a.created_at.isoformat(),
            }
            for a in accounts
        ],
    }


@router.get("/quote")
def quote(
    request: Request,
    principal: Caller,
    origin: Annotated[str, Query(alias="from", description="Calling number (E.164).")],
    to: Annotated[str, Query(description="Called number.")],
    seconds: Annotated[int, Query(ge=0, le=86_400 * 7)],
    at: str | None = None,
) -> dict[str, Any]:
    """The price of one call of `seconds` under the account's plan, explained."""
    view = _view(request, principal, at)
    origin_number = parse_number(origin)
    destination = parse_number(to, origin_number.country)
    q, priced = view.quote(destination, origin_number)
    charge = rate_call(CallUsage(origin_number.e164, destination.e164, view.at, seconds), q)
    body = charge_json(charge)
    body.update(
        charge=format_decimal(view.convert(charge.amount)),
        currency=view.currency.code,
        rate=format_decimal(priced.current_price),
        base_price=format_decimal(priced.base_price),
        fx_rate=format_decimal(view.fx_rate),
        plan_currency=view.plan_currency.code,
    )
    return body


@router.get("/destinations")
def destinations(
    request: Request,
    principal: Caller,
    q: Annotated[str, Query(min_length=1, max_length=100, description="Name fragment or prefix.")],
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    at: str | None = None,
) -> dict[str, Any]:
    """Destinations of the account's price list whose name contains `q`, or whose prefix
    starts with `q` (digits, `+` optional)."""
    view = _view(request, principal, at)
    results = view.search(q, limit)
    return {"query": q, "destinations": [_rate_json(view, r) for r in results]}


@router.get("/rates")
def rates(
    request: Request,
    principal: Caller,
    line: Annotated[str, Query(description="The origin line (E.164) the rates apply to.")],
    page_size: Annotated[int, Query(ge=1, le=1000)] = 100,
    page: Annotated[int, Query(ge=0)] = 0,
    at: str | None = None,
) -> dict[str, Any]:
    """Every destination's price for calls from `line`, free and blocked ones marked, paged."""
    view = _view(request, principal, at)
    origin = parse_number(line)
    all_rates = view.rates_from(origin)
    start = page * page_size
    chunk = all_rates[start : start + page_size]
    return {
        "line": origin.e164,
        "page": page,
        "page_size": page_size,
        "total": len(all_rates),
        "rates": [_rate_json(view, r) for r in chunk],
    }


@router.get("/cheapest-line")
def cheapest_line(
    request: Request,
    principal: Caller,
    to: str,
    lines: Annotated[list[str], Query(description="Candidate origin lines (repeat the parameter).")],
    at: str | None = None,
) -> dict[str, Any]:
    """Which origin line prices a call to `to` lowest (blocked lines excluded)."""
    if not lines:
        raise InvalidInput("lines: give at least one origin line")
    view = _view(request, principal, at)
    options = []
    for text in lines:
        origin = parse_number(text)
        destination = parse_number(to, origin.country)
        try:
            _, priced = view.quote(destination, origin)
        except TelebillError as exc:
            options.append({"line": origin.e164, "error": str(exc)})
            continue
        entry = _rate_json(view, priced)
        entry["line"] = origin.e164
        options.append(entry)
    usable = [o for o in options if "error" not in o and not o["blocked"]]
    best = min(usable, key=lambda o: (Decimal(o["current_price"]), o["line"])) if usable else None
    return {"to": to, "cheapest": best, "options": options}
