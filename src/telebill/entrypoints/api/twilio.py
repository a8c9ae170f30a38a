"""The Twilio Pricing API (v2 Voice and Trunking, v1 PhoneNumbers and Messaging).

The official SDKs work against this server by changing only their base URL. Every route
reads the authenticated account's prices (`PriceView`): `current_price` is what the
account pays (plan overrides applied), `base_price` the list price, both converted to the
account's currency, which is `price_unit`. Prices are decimal strings, as Twilio sends them.

Errors use Twilio's body `{code, message, more_info, status}`: the application turns
domain errors raised here into it for these paths (404 -> 20404, 401 -> 20003, 400 -> 20001).
Shapes follow twilio-oai `twilio_pricing_v2.json` / `twilio_pricing_v1.json`, nothing added.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from telebill.domain.accounts import Principal
from telebill.domain.catalog.entries import InboundPrice, SmsPrice
from telebill.domain.errors import NotFound
from telebill.domain.numbering import PhoneNumber, parse_number
from telebill.entrypoints.api.auth import basic_principal, container_of
from telebill.entrypoints.api.twilio_paging import PageRequest, Paging, base_url, paginate
from telebill.service.pricing import PricedRate, PriceGroup, PriceView, country_name

router = APIRouter(tags=["twilio"])

Caller = Annotated[Principal, Depends(basic_principal)]
IsoCountry = Annotated[str, Path(alias="IsoCountry", description="ISO 3166-1 alpha-2, any case.")]
DestinationNumber = Annotated[str, Path(alias="DestinationNumber", description="The called number, E.164.")]
OriginationNumber = Annotated[str | None, Query(alias="OriginationNumber", description="The calling number, E.164.")]

# Our SMS prices do not depend on the type of the sending number, so each outbound price is
# listed once for every sender type Twilio distinguishes (short codes are not offered).
SMS_SENDER_TYPES: Final = ("local", "mobile", "toll free")


def _price(amount: Decimal | None) -> str | None:
    return None if amount is None else format(amount, "f")


def _type_name(value: str) -> str:
    """Twilio's number type spelling: `toll_free` -> `toll free`."""
    return value.replace("_", " ")


def _typed_price(number_type: str | None, base: Decimal | None, current: Decimal | None) -> dict[str, Any]:
    return {"number_type": number_type, "base_price": _price(base), "current_price": _price(current)}


def _inbound_json(price: InboundPrice | None) -> dict[str, Any]:
    if price is None:
        return _typed_price(None, None, None)
    return _typed_price(_type_name(price.number_type.value), price.base_price, price.current_price)


def _group_json(g: PriceGroup) -> dict[str, Any]:
    return {
        "friendly_name": g.friendly_name,
        "origination_prefixes": list(g.origination_prefixes),
        "destination_prefixes": list(g.destination_prefixes),
        "base_price": _price(g.base_price),
        "current_price": _price(g.current_price),
    }


def _inbound_prices(view: PriceView, iso: str) -> list[dict[str, Any]]:
    return [_typed_price(_type_name(t.value), b, c) for t, b, c in view.inbound_country(iso)]


def _view(request: Request, principal: Principal) -> PriceView:
    return container_of(request).pricing.view(principal.account)


def _iso(view: PriceView, text: str) -> str:
    """The upper-case ISO code of a country the account's plan prices; NotFound otherwise."""
    iso = text.strip().upper()
    if not (len(iso) == 2 and iso.isascii() and iso.isalpha() and view.has_country(iso)):
        raise NotFound(f"no prices for country {text!r}")
    return iso


def _country_list(
    request: Request,
    rows: list[tuple[str, str]],
    path: str,
    paging: PageRequest,
) -> dict[str, Any]:
    collection = base_url(request) + path
    chunk, meta = paginate(rows, lambda row: row[0], paging, collection)
    countries = [{"country": name, "iso_country": iso, "url": f"{collection}/{iso}"} for iso, name in chunk]
    return {"countries": countries, "meta": meta}


# -- v2 Voice and Trunking: countries --------------------------------------------------------


@router.get("/v2/Voice/Countries")
def list_voice_countries(request: Request, principal: Caller, paging: Paging) -> dict[str, Any]:
    """Countries the account's plan prices, by ISO code, paged."""
    view = _view(request, principal)
    return _country_list(request, view.countries(), "/v2/Voice/Countries", paging)


@router.get("/v2/Voice/Countries/{IsoCountry}")
def fetch_voice_country(request: Request, principal: Caller, iso_country: IsoCountry) -> dict[str, Any]:
    """Outbound prices to a country, grouped by name and price, and its inbound prices."""
    view = _view(request, principal)
    iso = _iso(view, iso_country)
    return {
        "country": country_name(iso),
        "iso_country": iso,
        "outbound_prefix_prices": [_group_json(g) for g in view.voice_country(iso)],
        "inbound_call_prices": _inbound_prices(view, iso),
        "price_unit": view.currency.code,
        "url": f"{base_url(request)}/v2/Voice/Countries/{iso}",
    }


@router.get("/v2/Trunking/Countries")
def list_trunking_countries(request: Request, principal: Caller, paging: Paging) -> dict[str, Any]:
    """Countries the account's plan prices, by ISO code, paged."""
    view = _view(request, principal)
    return _country_list(request, view.countries(), "/v2/Trunking/Countries", paging)


@router.get("/v2/Trunking/Countries/{IsoCountry}")
def fetch_trunking_country(request: Request, principal: Caller, iso_country: IsoCountry) -> dict[str, Any]:
    """Terminating (outbound) prices to a country and its originating (inbound) prices."""
    view = _view(request, principal)
    iso = _iso(view, iso_country)
    return {
        "country": country_name(iso),
        "iso_country": iso,
        "terminating_prefix_prices": [_group_json(g) for g in view.voice_country(iso)],
        "originating_call_prices": _inbound_prices(view, iso),
        "price_unit": view.currency.code,
        "url": f"{base_url(request)}/v2/Trunking/Countries/{iso}",
    }


# -- v2 Voice and Trunking: numbers ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _NumberPrices:
    destination: PhoneNumber
    origin: PhoneNumber | None
    rates: list[PricedRate]
    inbound: InboundPrice | None

    @property
    def iso(self) -> str | None:
        return self.destination.country or self.rates[0].entry.iso_country or None

    def header(self) -> dict[str, Any]:
        iso = self.iso
        return {
            "country": country_name(iso) if iso else None,
            "iso_country": iso,
            "destination_number": self.destination.e164,
            "origination_number": self.origin.e164 if self.origin else None,
        }


def _number_prices(view: PriceView, destination_text: str, origination_text: str | None) -> _NumberPrices:
    """With an origin, the one price that applies from it (the plan's tiers decide);
    without, every origin variant of the list deck's prefix for the destination.

    A blocked destination is still priced: Twilio lists prices, blocking is decided when
    the call is placed. No price at all is NoPrice (404).
    """
    origin = parse_number(origination_text) if origination_text else None
    destination = parse_number(destination_text, origin.country if origin else None)
    if origin is None:
        rates = view.origin_variants(destination)
    else:
        _, priced = view.quote(destination, origin)
        rates = [priced]
    return _NumberPrices(destination, origin, rates, view.inbound_for(destination, origin))


_NUMBER_PARAMETERS: Final = {
    "parameters": [
        {
            "name": "DestinationNumber",
            "in": "path",
            "required": True,
            "description": "The called number, E.164.",
            "schema": {"type": "string"},
        },
        {
            "name": "OriginationNumber",
            "in": "query",
            "required": False,
            "description": "The calling number, E.164.",
            "schema": {"type": "string"},
        },
    ]
}


@router.get("/v2/Voice/Numbers/{DestinationNumber}", response_model=None, openapi_extra=_NUMBER_PARAMETERS)
async def fetch_voice_number(request: Request) -> JSONResponse:
    """The price of calling a number (from `OriginationNumber` when given) and of
    receiving calls on it."""
    # The hottest route: parameters are read from the request and the caller authenticated
    # in the body, because the framework's parameter and dependency resolution costs more
    # than the price lookup itself. The parameters are documented through `openapi_extra`.
    principal = await basic_principal(request)
    destination_number = request.path_params["DestinationNumber"]
    origination_number = request.query_params.get("OriginationNumber") or None
    view = _view(request, principal)
    found = _number_prices(view, destination_number, origination_number)
    # A plain JSON response: the body is already JSON-ready, and this lookup is the hot path.
    return JSONResponse(
        {
            **found.header(),
            "outbound_call_prices": [
                {
                    "origination_prefixes": [r.entry.origin],
                    "base_price": _price(r.base_price),
                    "current_price": _price(r.current_price),
                }
                for r in found.rates
            ],
            "inbound_call_price": _inbound_json(found.inbound),
            "price_unit": view.currency.code,
            "url": f"{base_url(request)}/v2/Voice/Numbers/{found.destination.e164}",
        }
    )


@router.get("/v2/Trunking/Numbers/{DestinationNumber}")
async def fetch_trunking_number(
    request: Request,
    principal: Caller,
    destination_number: DestinationNumber,
    origination_number: OriginationNumber = None,
) -> dict[str, Any]:
    """Terminating prices to a number (from `OriginationNumber` when given), with the
    matched prefix, and the originating price of calls to it."""
    view = _view(request, principal)
    found = _number_prices(view, destination_number, origination_number)
    return {
        **found.header(),
        "terminating_prefix_prices": [
            {
                "friendly_name": r.entry.friendly_name,
                "origination_prefixes": [r.entry.origin],
                "destination_prefixes": [r.entry.prefix],
                "base_price": _price(r.base_price),
                "current_price": _price(r.current_price),
            }
            for r in found.rates
        ],
        "originating_call_price": _inbound_json(found.inbound),
        "price_unit": view.currency.code,
        "url": f"{base_url(request)}/v2/Trunking/Numbers/{found.destination.e164}",
    }


# -- v1 PhoneNumbers -------------------------------------------------------------------------


def _phone_number_prices(view: PriceView, iso: str) -> list[dict[str, Any]]:
    """One price per number type. A category priced per region (London, Paris, ...) is
    listed at its lowest monthly price, with that entry's list price as `base_price`:
    Twilio's shape has no region, and the lowest is what a number of that type costs at least.
    """
    cheapest: dict[str, tuple[Decimal, Decimal]] = {}
    for p in view.number_prices(iso):
        kind = _type_name(p.category)
        if kind not in cheapest or p.monthly_price < cheapest[kind][1]:
            cheapest[kind] = (p.base_monthly_price, p.monthly_price)
    return [_typed_price(kind, base, current) for kind, (base, current) in sorted(cheapest.items())]


@router.get("/v1/PhoneNumbers/Countries")
def list_phone_number_countries(request: Request, principal: Caller, paging: Paging) -> dict[str, Any]:
    """Countries where the account's plan prices phone numbers, by ISO code, paged."""
    view = _view(request, principal)
    rows = [c for c in view.countries() if view.number_prices(c[0])]
    return _country_list(request, rows, "/v1/PhoneNumbers/Countries", paging)


@router.get("/v1/PhoneNumbers/Countries/{IsoCountry}")
def fetch_phone_number_country(request: Request, principal: Caller, iso_country: IsoCountry) -> dict[str, Any]:
    """Monthly prices of the phone numbers of a country, by number type."""
    view = _view(request, principal)
    iso = _iso(view, iso_country)
    prices = _phone_number_prices(view, iso)
    if not prices:
        raise NotFound(f"no phone number prices for country {iso}")
    return {
        "country": country_name(iso),
        "iso_country": iso,
        "phone_number_prices": prices,
        "price_unit": view.currency.code,
        "url": f"{base_url(request)}/v1/PhoneNumbers/Countries/{iso}",
    }


# -- v1 Messaging ----------------------------------------------------------------------------


def _outbound_sms_json(p: SmsPrice) -> dict[str, Any]:
    """We have no carrier data: one record per SMS price, named after its prefix when it
    has one, with empty MCC and MNC."""
    return {
        "carrier": f"prefix {p.prefix}" if p.prefix else "All carriers",
        "mcc": "",
        "mnc": "",
        "prices": [_typed_price(kind, p.base_price, p.current_price) for kind in SMS_SENDER_TYPES],
    }


def _inbound_sms_json(view: PriceView, iso: str, sms: list[SmsPrice]) -> list[dict[str, Any]]:
    """The country-wide inbound price (the price without a prefix, else the lowest), once
    per type of number sold in the country, or per sender type when none is sold there."""
    generic = [p.inbound_price for p in sms if not p.prefix] or [p.inbound_price for p in sms]
    inbound = min(generic)
    kinds = sorted({_type_name(p.category) for p in view.number_prices(iso)}) or list(SMS_SENDER_TYPES)
    return [_typed_price(kind, inbound, inbound) for kind in kinds]


@router.get("/v1/Messaging/Countries")
def list_messaging_countries(request: Request, principal: Caller, paging: Paging) -> dict[str, Any]:
    """Countries where the account's plan prices SMS, by ISO code, paged."""
    view = _view(request, principal)
    rows = [c for c in view.countries() if view.sms_prices(c[0])]
    return _country_list(request, rows, "/v1/Messaging/Countries", paging)


@router.get("/v1/Messaging/Countries/{IsoCountry}")
def fetch_messaging_country(request: Request, principal: Caller, iso_country: IsoCountry) -> dict[str, Any]:
    """Outbound SMS prices to a country and the price of receiving one there."""
    view = _view(request, principal)
    iso = _iso(view, iso_country)
    sms = sorted(view.sms_prices(iso), key=lambda p: p.prefix)
    if not sms:
        raise NotFound(f"no SMS prices for country {iso}")
    return {
        "country": country_name(iso),
        "iso_country": iso,
        "outbound_sms_prices": [_outbound_sms_json(p) for p in sms],
        "inbound_sms_prices": _inbound_sms_json(view, iso, sms),
        "price_unit": view.currency.code,
        "url": f"{base_url(request)}/v1/Messaging/Countries/{iso}",
    }
