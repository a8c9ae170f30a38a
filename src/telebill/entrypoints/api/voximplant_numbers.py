"""The phone-number and account methods of the Voximplant API.

GetSubscriptionPrice, GetPhoneNumberCategories, GetPhoneNumberRegions and GetAccountInfo.
Owns the list deck's phone-number prices as Voximplant sees them (subscription templates,
phone categories, ours mapped to Voximplant's, and regions), converted into the account's
currency (`PriceView.convert`), and a country's calling code. Subscription template and
phone region ids are the 1-based rank of the list deck's phone-number prices by (country,
category, region), so they never depend on the order the store returns rows in; they are
stable within one deck version. Name filters are exact but case-insensitive.

Deliberate limits: names are English whatever `locale` says; numbers are never in stock
(`phone_count` 0), so `omit_empty` is accepted but has no effect, and there are no sandbox
numbers. There is no balance yet, so `GetAccountInfo` carries no `balance` or `credit_limit`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC
from typing import Any, Final

import phonenumbers

from telebill.domain.catalog.deck import DeckVersion
from telebill.domain.catalog.entries import NumberPrice
from telebill.domain.money import from_micros
from telebill.entrypoints.api.voximplant_params import VoxCall
from telebill.service.pricing import PriceView, country_name

PERIOD_MONTH: Final = "0-1-0 0:0:0"
DATETIME_FORMAT: Final = "%Y-%m-%d %H:%M:%S"
# Our number categories -> Voximplant phone categories, their labels and inbound resources.
_CATEGORIES: Final = {
    "local": "GEOGRAPHIC",
    "mobile": "MOBILE",
    "toll_free": "TOLLFREE",
    "national": "NATIONAL",
}
_CATEGORY_LABELS: Final = {
    "GEOGRAPHIC": "Geographic",
    "MOBILE": "Mobile",
    "TOLLFREE": "Toll-free",
    "NATIONAL": "National",
}
_INBOUND_RESOURCE: Final = {c: f"PSTN_IN_{c}" for c in _CATEGORY_LABELS}


def calling_code(iso: str) -> str:
    code = phonenumbers.country_code_for_region(iso)
    return str(code) if code else ""


def _number_rows(deck: DeckVersion) -> list[tuple[int, NumberPrice]]:
    """Phone-number prices numbered from 1 by their key (country, category, region)."""
    return list(enumerate(sorted(deck.numbers, key=lambda n: (n.country, n.category, n.region)), start=1))


def _category(category: str) -> str:
    key = category.strip().lower()
    return _CATEGORIES.get(key, key.upper().replace("-", "_").replace(" ", "_"))


def _template_name(p: NumberPrice) -> str:
    return " ".join(w for w in ("Phone", p.country, p.category, p.region) if w)


def get_subscription_price(call: VoxCall) -> dict[str, Any]:
    p = call.params
    ids = set(p.ints("subscription_template_id"))
    kind = p.text("subscription_template_type")
    name = p.text("subscription_template_name")
    count = p.integer("count", None)
    offset = p.integer("offset", 0) or 0
    view = call.view()
    found = []
    for i, n in _number_rows(view.list_deck):
        if ids and i not in ids:
            continue
        if kind is not None and kind.upper() != "PHONE_NUM":
            continue
        if name is not None and _template_name(n).casefold() != name.casefold():
            continue
        found.append(
            {
                "subscription_template_id": i,
                "installation_price": view.convert(n.setup_price),
                "price": view.convert(n.monthly_price),
                "period": PERIOD_MONTH,
                "subscription_template_type": "PHONE_NUM",
                "subscription_template_name": _template_name(n),
                "currency": view.currency.code,
            }
        )
    page = found[offset:] if count is None else found[offset : offset + count]
    return {"result": page, "count": len(page), "total_count": len(found)}


def _numbers_by_country(view: PriceView) -> dict[str, dict[str, list[tuple[int, NumberPrice]]]]:
    """Number prices of the list deck by country (ISO order), then Voximplant category."""
    out: dict[str, dict[str, list[tuple[int, NumberPrice]]]] = defaultdict(lambda: defaultdict(list))
    for i, n in _number_rows(view.list_deck):
        out[n.country][_category(n.category)].append((i, n))
    return {iso: out[iso] for iso in sorted(out)}


def _representative(rows: Iterable[tuple[int, NumberPrice]]) -> NumberPrice:
    """The category's price: its country-wide row (no region), else its cheapest region."""
    prices = [n for _, n in rows]
    whole = [n for n in prices if not n.region]
    return (whole or sorted(prices, key=lambda n: (n.monthly_price, n.setup_price)))[0]


def get_phone_number_categories(call: VoxCall) -> dict[str, Any]:
    p = call.params
    wanted = {c.upper() for c in p.words("country_code")}
    sandbox = p.flag("sandbox")  # there are no sandbox numbers
    view = call.view()
    result = []
    for iso, categories in ({} if sandbox else _numbers_by_country(view)).items():
        if wanted and iso not in wanted:
            continue
        entries = []
        for category, rows in categories.items():
            n = _representative(rows)
            entries.append(
                {
                    "phone_category_name": category,
                    "country_has_states": False,
                    "localized_phone_category_name": _CATEGORY_LABELS.get(category, category),
                    "phone_installation_price": view.convert(n.setup_price),
                    "phone_price": view.convert(n.monthly_price),
                    "phone_period": PERIOD_MONTH,
                    "can_list_phone_numbers": False,
                    "incoming_calls_resource_name": _INBOUND_RESOURCE.get(category, ""),
                }
            )
        result.append(
            {
                "country_code": iso,
                "phone_prefix": calling_code(iso),
                "can_list_phone_numbers": False,
                "localized_country_name": country_name(iso),
                "emergency_calls_to_be_enabled": False,
                "phone_categories": entries,
            }
        )
    return {"result": result, "count": len(result)}


def get_phone_number_regions(call: VoxCall) -> dict[str, Any]:
    p = call.params
    iso = p.required("country_code").upper()
    category = _category(p.required("phone_category_name"))
    state = p.text("country_state")
    p.flag("omit_empty")  # nothing is in stock, and every region is listed
    region_id = p.integer("phone_region_id", None)
    region_name = p.text("phone_region_name")
    region_code = p.text("phone_region_code")
    view = call.view()
    rows = [] if state else _numbers_by_country(view).get(iso, {}).get(category, [])
    sms = any(s.country == iso for s in view.list_deck.sms)
    label = _CATEGORY_LABELS.get(category, category)
    result = []
    for i, n in rows:
        name = n.region or country_name(iso)
        if region_id is not None and i != region_id:
            continue
        if region_name is not None and name.casefold() != region_name.casefold():
            continue
        if region_code is not None:
            continue  # area codes are not known
        result.append(
            {
                "phone_region_id": i,
                "phone_region_name": name,
                "phone_region_code": "",
                "phone_count": 0,
                "phone_period": PERIOD_MONTH,
                "phone_price": view.convert(n.monthly_price),
                "phone_installation_price": view.convert(n.setup_price),
                "is_need_regulation_address": False,
                "is_sms_supported": sms,
                "multiple_numbers_price": [],
                "country_code": iso,
                "phone_category_name": category,
                "localized_country_name": country_name(iso),
                "localized_phone_category_name": label,
                "localized_phone_region_name": name,
            }
        )
    return {"result": result, "count": len(result)}


# -- account -----------------------------------------------------------------------------


def get_account_info(call: VoxCall) -> dict[str, Any]:
    call.params.flag("return_live_balance")  # the balance is always live here
    a = call.principal.account
    created = a.created_at if a.created_at.tzinfo is None else a.created_at.astimezone(UTC)
    credit = call.container.credits.balance(a)
    settings = credit.settings
    result = {
        "account_id": a.number,
        "account_name": a.name,
        "account_email": "",
        "created": created.strftime(DATETIME_FORMAT),
        "active": a.active and not settings.suspended,
        "frozen": settings.suspended,
        "currency": a.currency.code,
        # exact decimal literals (the router writes Decimal as JSON numbers, never floats)
        "balance": from_micros(credit.available).normalize(),
        "credit_limit": from_micros(settings.credit_limit if settings.floor < 0 else 0).normalize(),
        "min_balance_to_notify": from_micros(settings.low_balance_threshold).normalize(),
        "billing_address_address": settings.billing_address,
    }
    return {"result": result, "api_address": call.host}
