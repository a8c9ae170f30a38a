"""The Twilio Pricing API through the official `twilio` SDK, pointed at a live server.

Only `client.pricing.base_url` changes; every call is the SDK's own (non-deprecated v1/v2
paths). Expected prices are read from the demo catalog through the server's container.
A few raw HTTP tests pin the exact JSON shapes the SDK passes through untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest
from tests.conftest import LiveServer
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from telebill.adapters.demo_catalog import INTERNATIONAL
from telebill.domain.accounts import Role
from telebill.domain.catalog.deck import DeckVersion
from telebill.domain.money import currency

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
UK_MOBILE = "+447400123456"
US_LINE = "+14155550100"
FR_MOBILE = "+33612345678"
GB_LINE = "+442071234567"


def sdk(server: LiveServer, who: str = "acme") -> Client:
    creds = server.accounts[who]
    return sdk_as(server, creds.sid, creds.token)


def sdk_as(server: LiveServer, username: str, password: str) -> Client:
    client = Client(username, password)
    client.pricing.base_url = server.base_url
    return client


def raw(server: LiveServer, who: str = "acme") -> httpx.Client:
    creds = server.accounts[who]
    return httpx.Client(base_url=server.base_url, auth=(creds.sid, creds.token), timeout=10)


def deck(server: LiveServer) -> DeckVersion:
    return server.container.catalog.deck_version(INTERNATIONAL, T0)


def eur(server: LiveServer, usd: Decimal) -> Decimal:
    """A USD amount in EUR, the way prices are converted (ECB rate, 6 decimals)."""
    rate = server.container.fx.rate(currency("USD"), currency("EUR"), T0)
    return (usd * rate).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)


def is_price(value: object) -> bool:
    return isinstance(value, str) and Decimal(value) >= 0


# -- listing countries -----------------------------------------------------------------------

Lister = Callable[[Client], Any]
LISTS: dict[str, tuple[Lister, Callable[[DeckVersion], set[str]]]] = {
    "voice": (
        lambda c: c.pricing.v2.voice.countries,
        lambda d: {e.iso_country for e in d.voice if e.iso_country} | {p.country for p in d.inbound},
    ),
    "trunking": (
        lambda c: c.pricing.v2.countries,
        lambda d: {e.iso_country for e in d.voice if e.iso_country} | {p.country for p in d.inbound},
    ),
    "phone numbers": (
        lambda c: c.pricing.v1.phone_numbers.countries,
        lambda d: {p.country for p in d.numbers},
    ),
    "messaging": (lambda c: c.pricing.v1.messaging.countries, lambda d: {p.country for p in d.sms}),
}


@pytest.mark.parametrize("resource", list(LISTS))
def test_list_reads_every_country_across_several_pages(live_server: LiveServer, resource: str) -> None:
    countries, expected_isos = LISTS[resource]
    expected = expected_isos(deck(live_server))
    small = max(len(expected) // 4, 2)  # at least four pages
    resource_list = countries(sdk(live_server))
    paged = resource_list.list(page_size=small)
    unpaged = resource_list.list(page_size=1000)
    isos = [c.iso_country for c in paged]
    assert len(isos) == len(set(isos)) == len(unpaged) == len(expected)
    assert isos == sorted(expected) == [c.iso_country for c in unpaged]
    assert all(c.country and c.url.endswith(f"/Countries/{c.iso_country}") for c in paged)


def test_list_without_a_page_size_pages_by_fifty(live_server: LiveServer) -> None:
    with raw(live_server) as c:
        meta = c.get("/v2/Voice/Countries").json()["meta"]
    assert meta["page_size"] == 50
    assert len(sdk(live_server).pricing.v2.voice.countries.list()) == len(LISTS["voice"][1](deck(live_server)))


def test_page_navigation_goes_forward_and_back(live_server: LiveServer) -> None:
    countries = sdk(live_server).pricing.v2.voice.countries
    everything = [c.iso_country for c in countries.list(page_size=1000)]
    first = countries.page(page_size=5)
    assert [c.iso_country for c in first] == everything[:5]
    assert first.previous_page() is None
    second = first.next_page()
    assert second is not None
    assert [c.iso_country for c in second] == everything[5:10]
    back = second.previous_page()
    assert back is not None
    assert [c.iso_country for c in back] == everything[:5]


def test_a_page_number_without_a_token_is_an_offset(live_server: LiveServer) -> None:
    countries = sdk(live_server).pricing.v1.messaging.countries
    everything = [c.iso_country for c in countries.list()]
    third = countries.page(page_size=4, page_number=2)
    assert [c.iso_country for c in third] == everything[8:12]


def test_the_last_page_has_no_next_page(live_server: LiveServer) -> None:
    countries = sdk(live_server).pricing.v1.phone_numbers.countries
    everything = [c.iso_country for c in countries.list()]
    last = countries.page(page_size=len(everything))
    assert [c.iso_country for c in last] == everything
    assert last.next_page() is None


def test_a_page_size_above_the_maximum_is_clamped_to_1000(live_server: LiveServer) -> None:
    with raw(live_server) as c:
        body = c.get("/v2/Voice/Countries", params={"PageSize": 5000}).json()
        tiny = c.get("/v2/Voice/Countries", params={"PageSize": 0}).json()
    assert body["meta"]["page_size"] == 1000
    assert body["meta"]["next_page_url"] is None
    assert len(body["countries"]) == len(LISTS["voice"][1](deck(live_server)))
    assert tiny["meta"]["page_size"] == 1
    streamed = list(sdk(live_server).pricing.v2.countries.stream(limit=5000))
    assert len(streamed) == len(body["countries"])


def test_a_forged_page_token_is_a_twilio_400(live_server: LiveServer) -> None:
    with raw(live_server) as c:
        r = c.get("/v2/Voice/Countries", params={"PageToken": "not-a-token"})
        negative = c.get("/v2/Voice/Countries", params={"Page": -1})
    assert r.status_code == 400
    assert r.json()["code"] == 20001
    assert "PageToken" in r.json()["message"]
    assert negative.status_code == 400
    assert set(negative.json()) == {"code", "message", "more_info", "status"}


def test_a_page_token_starts_the_page_after_its_country(live_server: LiveServer) -> None:
    with raw(live_server) as c:
        body = c.get("/v2/Voice/Countries", params={"PageSize": 3, "PageToken": "PAFR"}).json()
    isos = [row["iso_country"] for row in body["countries"]]
    assert len(isos) == 3
    assert all(iso > "FR" for iso in isos)
    assert "FR" not in isos


# -- voice and trunking countries --------------------------------------------------------------


def test_a_voice_country_has_the_catalog_prices_as_strings(live_server: LiveServer) -> None:
    gb = sdk(live_server).pricing.v2.voice.countries("GB").fetch()
    d = deck(live_server)
    assert (gb.country, gb.iso_country, gb.price_unit) == ("United Kingdom", "GB", "USD")
    assert gb.url == f"{live_server.base_url}/v2/Voice/Countries/GB"
    entries = {(e.prefix, e.origin): e for e in d.voice if e.iso_country == "GB"}
    seen = set()
    for record in gb.outbound_prefix_prices:
        assert is_price(record["base_price"])
        assert is_price(record["current_price"])
        for prefix in record["destination_prefixes"]:
            for origin in record["origination_prefixes"]:
                entry = entries[prefix, origin]
                assert record["friendly_name"] == entry.friendly_name
                assert Decimal(record["base_price"]) == entry.tariff.base_price
                assert Decimal(record["current_price"]) == entry.tariff.current_price
                seen.add((prefix, origin))
    assert seen == set(entries)
    assert ("447", "1") in seen
    assert ("447", "ROW") in seen
    inbound = {p.number_type.value.replace("_", " "): p for p in d.inbound if p.country == "GB" and p.caller == "ALL"}
    assert [p["number_type"] for p in gb.inbound_call_prices] == ["local", "mobile", "national", "toll free"]
    for p in gb.inbound_call_prices:
        assert p["current_price"] == format(inbound[p["number_type"]].current_price, "f")
        assert p["base_price"] == format(inbound[p["number_type"]].base_price, "f")


def test_the_iso_code_of_a_country_is_case_insensitive(live_server: LiveServer) -> None:
    fr = sdk(live_server).pricing.v2.voice.countries("fr").fetch()
    assert fr.iso_country == "FR"
    assert fr.url.endswith("/v2/Voice/Countries/FR")


def test_a_trunking_country_has_the_voice_prices_under_trunking_names(live_server: LiveServer) -> None:
    client = sdk(live_server)
    voice = client.pricing.v2.voice.countries("DE").fetch()
    trunking = client.pricing.v2.countries("DE").fetch()
    assert trunking.terminating_prefix_prices == voice.outbound_prefix_prices
    assert trunking.originating_call_prices == voice.inbound_call_prices
    assert trunking.url == f"{live_server.base_url}/v2/Trunking/Countries/DE"


# -- numbers -----------------------------------------------------------------------------------


def test_a_number_called_from_an_origin_gets_only_the_price_that_applies(live_server: LiveServer) -> None:
    numbers = sdk(live_server).pricing.v2.voice.numbers
    from_us = numbers(UK_MOBILE).fetch(origination_number=US_LINE)
    from_fr = numbers(UK_MOBILE).fetch(origination_number=FR_MOBILE)
    from_gb = numbers(UK_MOBILE).fetch(origination_number=GB_LINE)
    assert from_us.outbound_call_prices == [
        {"origination_prefixes": ["1"], "base_price": "0.0210", "current_price": "0.0210"}
    ]
    assert from_fr.outbound_call_prices == [
        {"origination_prefixes": ["ROW"], "base_price": "0.0650", "current_price": "0.0650"}
    ]
    # a call within the UK is priced by the domestic deck of the plan
    assert from_gb.outbound_call_prices == [
        {"origination_prefixes": ["ALL"], "base_price": "0.0120", "current_price": "0.0120"}
    ]
    assert (from_us.destination_number, from_us.origination_number) == (UK_MOBILE, US_LINE)
    assert (from_us.iso_country, from_us.country, from_us.price_unit) == ("GB", "United Kingdom", "USD")
    assert from_us.url == f"{live_server.base_url}/v2/Voice/Numbers/{UK_MOBILE}"


def test_a_number_without_an_origin_lists_every_origin_variant(live_server: LiveServer) -> None:
    uk = sdk(live_server).pricing.v2.voice.numbers(UK_MOBILE).fetch()
    variants = {
        (e.origin, format(e.tariff.base_price, "f"), format(e.tariff.current_price, "f"))
        for e in deck(live_server).voice
        if e.prefix == "447"
    }
    assert (
        {(p["origination_prefixes"][0], p["base_price"], p["current_price"]) for p in uk.outbound_call_prices}
        == variants
        == {("1", "0.0210", "0.0210"), ("ROW", "0.0650", "0.0650")}
    )
    assert uk.origination_number is None
    assert uk.inbound_call_price == {
        "number_type": "mobile",
        "base_price": "0.0100",
        "current_price": "0.0100",
    }


def test_the_inbound_price_of_a_number_depends_on_the_caller(live_server: LiveServer) -> None:
    numbers = sdk(live_server).pricing.v2.voice.numbers
    freephone = "+448001234567"
    from_mobile = numbers(freephone).fetch(origination_number=UK_MOBILE).inbound_call_price
    from_line = numbers(freephone).fetch(origination_number=GB_LINE).inbound_call_price
    assert from_mobile == {"number_type": "toll free", "base_price": "0.1200", "current_price": "0.1200"}
    assert from_line == {"number_type": "toll free", "base_price": "0.0350", "current_price": "0.0350"}


def test_a_number_without_inbound_price_has_an_all_null_inbound_price(live_server: LiveServer) -> None:
    jp = sdk(live_server).pricing.v2.voice.numbers("+81312345678").fetch()
    assert jp.inbound_call_price == {"number_type": None, "base_price": None, "current_price": None}
    assert jp.outbound_call_prices


def test_a_blocked_destination_is_still_priced(live_server: LiveServer) -> None:
    with raw(live_server) as c:
        body = c.get("/v2/Voice/Numbers/+870772001234").json()
    assert body["outbound_call_prices"] == [
        {"origination_prefixes": ["ALL"], "base_price": "5.9500", "current_price": "5.9500"}
    ]
    assert (body["country"], body["iso_country"]) == (None, None)
    assert "blocked" not in body


def test_a_trunking_number_names_the_matched_prefix(live_server: LiveServer) -> None:
    numbers = sdk(live_server).pricing.v2.numbers
    uk = numbers(UK_MOBILE).fetch(origination_number=US_LINE)
    assert uk.terminating_prefix_prices == [
        {
            "friendly_name": "UK - Mobile",
            "origination_prefixes": ["1"],
            "destination_prefixes": ["447"],
            "base_price": "0.0210",
            "current_price": "0.0210",
        }
    ]
    assert uk.originating_call_price == {
        "number_type": "mobile",
        "base_price": "0.0100",
        "current_price": "0.0100",
    }
    assert uk.url == f"{live_server.base_url}/v2/Trunking/Numbers/{UK_MOBILE}"
    every = numbers(UK_MOBILE).fetch()
    assert [p["origination_prefixes"] for p in every.terminating_prefix_prices] == [["1"], ["ROW"]]
    assert every.origination_number is None


def test_an_invalid_number_is_a_twilio_400_naming_it(live_server: LiveServer) -> None:
    with pytest.raises(TwilioRestException) as caught:
        sdk(live_server).pricing.v2.voice.numbers("nonsense").fetch()
    assert caught.value.status == 400
    assert caught.value.code == 21211  # Twilio's "Invalid 'To' Phone Number"
    assert "nonsense" in caught.value.msg
    with pytest.raises(TwilioRestException) as origin:
        sdk(live_server).pricing.v2.numbers(UK_MOBILE).fetch(origination_number="+1")
    assert origin.value.status == 400
    assert "'+1'" in origin.value.msg


def test_a_number_nothing_prices_is_a_twilio_404(live_server: LiveServer) -> None:
    with pytest.raises(TwilioRestException) as caught:
        sdk(live_server).pricing.v2.voice.numbers("+80012345678").fetch()
    assert (caught.value.status, caught.value.code) == (404, 20404)


# -- phone numbers and messaging -------------------------------------------------------------


def test_phone_number_prices_list_the_cheapest_region_of_each_type(live_server: LiveServer) -> None:
    gb = sdk(live_server).pricing.v1.phone_numbers.countries("GB").fetch()
    cheapest: dict[str, tuple[Decimal, Decimal]] = {}
    for p in deck(live_server).numbers:
        kind = p.category.replace("_", " ")
        if p.country == "GB" and (kind not in cheapest or p.monthly_price < cheapest[kind][1]):
            cheapest[kind] = (p.base_monthly_price, p.monthly_price)
    assert gb.phone_number_prices == [
        {"number_type": kind, "base_price": format(base, "f"), "current_price": format(current, "f")}
        for kind, (base, current) in sorted(cheapest.items())
    ]
    assert [p["number_type"] for p in gb.phone_number_prices] == ["local", "mobile", "toll free"]
    assert gb.phone_number_prices[0]["current_price"] == "1.20"  # not London's 1.50
    assert (gb.price_unit, gb.url) == ("USD", f"{live_server.base_url}/v1/PhoneNumbers/Countries/GB")


def test_messaging_prices_name_the_prefix_when_there_is_no_carrier(live_server: LiveServer) -> None:
    kz = sdk(live_server).pricing.v1.messaging.countries("KZ").fetch()
    sms = {p.prefix: p for p in deck(live_server).sms if p.country == "KZ"}
    assert [(p["carrier"], p["mcc"], p["mnc"]) for p in kz.outbound_sms_prices] == [
        ("All carriers", "", ""),
        ("prefix 7705", "", ""),
    ]
    for record, prefix in zip(kz.outbound_sms_prices, ["", "7705"], strict=True):
        assert {p["number_type"] for p in record["prices"]} == {"local", "mobile", "toll free"}
        assert {p["current_price"] for p in record["prices"]} == {format(sms[prefix].current_price, "f")}
        assert {p["base_price"] for p in record["prices"]} == {format(sms[prefix].base_price, "f")}
    assert kz.price_unit == "USD"
    assert kz.url == f"{live_server.base_url}/v1/Messaging/Countries/KZ"


def test_inbound_sms_is_priced_for_each_type_of_number_sold_there(live_server: LiveServer) -> None:
    us = sdk(live_server).pricing.v1.messaging.countries("US").fetch()
    assert us.inbound_sms_prices == [
        {"number_type": "local", "base_price": "0.0079", "current_price": "0.0079"},
        {"number_type": "toll free", "base_price": "0.0079", "current_price": "0.0079"},
    ]


# -- errors and authentication ---------------------------------------------------------------

Fetcher = Callable[[Client, str], Any]
FETCHES: dict[str, Fetcher] = {
    "voice": lambda c, iso: c.pricing.v2.voice.countries(iso).fetch(),
    "trunking": lambda c, iso: c.pricing.v2.countries(iso).fetch(),
    "phone numbers": lambda c, iso: c.pricing.v1.phone_numbers.countries(iso).fetch(),
    "messaging": lambda c, iso: c.pricing.v1.messaging.countries(iso).fetch(),
}


@pytest.mark.parametrize("resource", list(FETCHES))
def test_an_unknown_country_is_a_twilio_404(live_server: LiveServer, resource: str) -> None:
    with pytest.raises(TwilioRestException) as caught:
        FETCHES[resource](sdk(live_server), "ZZ")
    assert (caught.value.status, caught.value.code) == (404, 20404)
    assert "was not found" in caught.value.msg


@pytest.mark.parametrize(("resource", "iso"), [("phone numbers", "JP"), ("messaging", "AD")])
def test_a_country_without_such_prices_is_a_twilio_404(live_server: LiveServer, resource: str, iso: str) -> None:
    with pytest.raises(TwilioRestException) as caught:
        FETCHES[resource](sdk(live_server), iso)
    assert (caught.value.status, caught.value.code) == (404, 20404)


@pytest.mark.parametrize("resource", list(FETCHES))
def test_a_wrong_token_is_a_twilio_401(live_server: LiveServer, resource: str) -> None:
    client = sdk_as(live_server, live_server.accounts["acme"].sid, "0" * 32)
    with pytest.raises(TwilioRestException) as caught:
        FETCHES[resource](client, "US")
    assert (caught.value.status, caught.value.code) == (401, 20003)


def test_an_api_key_authenticates_until_it_is_revoked(live_server: LiveServer) -> None:
    accounts = live_server.container.accounts
    key = accounts.create_key(live_server.accounts["other"].sid, Role.MEMBER)
    assert key.secret is not None
    client = sdk_as(live_server, key.key.sid, key.secret)
    assert client.pricing.v2.voice.countries("FR").fetch().price_unit == "EUR"
    accounts.revoke_key(key.key.sid)
    with pytest.raises(TwilioRestException) as caught:
        client.pricing.v2.voice.countries("FR").fetch()
    assert (caught.value.status, caught.value.code) == (401, 20003)


# -- accounts see their own prices -----------------------------------------------------------


def test_each_account_sees_its_own_currency_and_discount(live_server: LiveServer) -> None:
    acme = sdk(live_server, "acme").pricing.v2.voice.countries("FR").fetch()
    sub = sdk(live_server, "acme_sub").pricing.v2.voice.countries("FR").fetch()
    other = sdk(live_server, "other").pricing.v2.voice.countries("FR").fetch()
    assert (acme.price_unit, sub.price_unit, other.price_unit) == ("USD", "USD", "EUR")
    assert sub.outbound_prefix_prices == acme.outbound_prefix_prices
    usd = {(tuple(p["destination_prefixes"]), tuple(p["origination_prefixes"])): p for p in acme.outbound_prefix_prices}
    for p in other.outbound_prefix_prices:
        listed = usd[tuple(p["destination_prefixes"]), tuple(p["origination_prefixes"])]
        assert Decimal(p["base_price"]) == eur(live_server, Decimal(listed["base_price"]))
        assert Decimal(p["current_price"]) == eur(live_server, Decimal(listed["current_price"]) * Decimal("0.9"))


def test_the_discount_plan_fixes_uk_prices(live_server: LiveServer) -> None:
    other = sdk(live_server, "other").pricing.v2.voice.numbers(UK_MOBILE).fetch(origination_number=US_LINE)
    [price] = other.outbound_call_prices
    assert Decimal(price["current_price"]) == eur(live_server, Decimal("0.01"))
    assert Decimal(price["base_price"]) == eur(live_server, Decimal("0.0210"))
    assert other.price_unit == "EUR"


def test_phone_number_and_sms_prices_are_converted_for_a_eur_account(live_server: LiveServer) -> None:
    client = sdk(live_server, "other")
    us_numbers = client.pricing.v1.phone_numbers.countries("US").fetch()
    us_sms = client.pricing.v1.messaging.countries("US").fetch()
    assert us_numbers.price_unit == us_sms.price_unit == "EUR"
    assert Decimal(us_numbers.phone_number_prices[0]["current_price"]) == eur(live_server, Decimal("1.00"))
    assert Decimal(us_sms.outbound_sms_prices[0]["prices"][0]["current_price"]) == eur(live_server, Decimal("0.0079"))


# -- exact JSON shapes -----------------------------------------------------------------------

META_KEYS = {"page", "page_size", "first_page_url", "previous_page_url", "url", "next_page_url", "key"}


@pytest.mark.parametrize(
    "path",
    [
        "/v2/Voice/Countries",
        "/v2/Trunking/Countries",
        "/v1/PhoneNumbers/Countries",
        "/v1/Messaging/Countries",
    ],
)
def test_a_list_page_has_twilios_envelope_with_absolute_links(live_server: LiveServer, path: str) -> None:
    base = live_server.base_url
    with raw(live_server) as c:
        first = c.get(path, params={"PageSize": 2}).json()
        second = c.get(first["meta"]["next_page_url"]).json()
    assert set(first) == {"countries", "meta"}
    assert set(first["meta"]) == META_KEYS
    assert first["meta"]["key"] == "countries"
    assert first["meta"]["page"] == 0
    assert first["meta"]["url"] == first["meta"]["first_page_url"] == f"{base}{path}?PageSize=2&Page=0"
    assert first["meta"]["previous_page_url"] is None
    assert first["meta"]["next_page_url"].startswith(f"{base}{path}?PageSize=2&Page=1&PageToken=")
    assert set(first["countries"][0]) == {"country", "iso_country", "url"}
    assert first["countries"][0]["url"] == f"{base}{path}/{first['countries'][0]['iso_country']}"
    assert second["meta"]["page"] == 1
    assert second["meta"]["url"] == first["meta"]["next_page_url"]
    assert second["meta"]["previous_page_url"].startswith(f"{base}{path}?PageSize=2&Page=0&PageToken=")


def test_links_use_the_configured_public_url(live_server: LiveServer) -> None:
    live_server.container.settings.public_url = "https://pricing.example.com/"
    with raw(live_server) as c:
        page = c.get("/v2/Voice/Countries", params={"PageSize": 1}).json()
        fr = c.get("/v2/Voice/Countries/FR").json()
    assert page["meta"]["next_page_url"].startswith("https://pricing.example.com/v2/Voice/Countries?")
    assert page["countries"][0]["url"].startswith("https://pricing.example.com/v2/Voice/Countries/")
    assert fr["url"] == "https://pricing.example.com/v2/Voice/Countries/FR"


def test_fetched_resources_have_exactly_twilios_fields(live_server: LiveServer) -> None:
    with raw(live_server) as c:
        voice = c.get("/v2/Voice/Countries/US").json()
        trunking = c.get("/v2/Trunking/Countries/US").json()
        numbers = c.get("/v1/PhoneNumbers/Countries/US").json()
        messaging = c.get("/v1/Messaging/Countries/US").json()
    common = {"country", "iso_country", "price_unit", "url"}
    assert set(voice) == common | {"outbound_prefix_prices", "inbound_call_prices"}
    assert set(trunking) == common | {"terminating_prefix_prices", "originating_call_prices"}
    assert set(numbers) == common | {"phone_number_prices"}
    assert set(messaging) == common | {"outbound_sms_prices", "inbound_sms_prices"}
    assert set(voice["outbound_prefix_prices"][0]) == {
        "friendly_name",
        "origination_prefixes",
        "destination_prefixes",
        "base_price",
        "current_price",
    }
    assert set(voice["inbound_call_prices"][0]) == {"number_type", "base_price", "current_price"}
    assert set(messaging["outbound_sms_prices"][0]) == {"carrier", "mcc", "mnc", "prices"}


def test_a_number_resource_keeps_the_plus_in_its_url(live_server: LiveServer) -> None:
    with raw(live_server) as c:
        encoded = c.get("/v2/Voice/Numbers/%2B33612345678", params={"OriginationNumber": US_LINE}).json()
        # a literal + in the query decodes to a space, which the number parser ignores
        literal = c.get(f"/v2/Voice/Numbers/+33612345678?OriginationNumber={US_LINE}").json()
        trunking = c.get("/v2/Trunking/Numbers/+33612345678").json()
    assert encoded == literal
    assert encoded["url"] == f"{live_server.base_url}/v2/Voice/Numbers/+33612345678"
    assert (encoded["destination_number"], encoded["origination_number"]) == (FR_MOBILE, US_LINE)
    assert set(encoded) == {
        "country",
        "iso_country",
        "destination_number",
        "origination_number",
        "outbound_call_prices",
        "inbound_call_price",
        "price_unit",
        "url",
    }
    assert set(encoded["outbound_call_prices"][0]) == {"origination_prefixes", "base_price", "current_price"}
    assert set(trunking) == {
        "country",
        "iso_country",
        "destination_number",
        "origination_number",
        "terminating_prefix_prices",
        "originating_call_price",
        "price_unit",
        "url",
    }
    assert trunking["url"] == f"{live_server.base_url}/v2/Trunking/Numbers/+33612345678"


def test_errors_have_twilios_body(live_server: LiveServer) -> None:
    with raw(live_server) as c:
        missing = c.get("/v2/Voice/Countries/ZZ")
    unauthenticated = httpx.get(f"{live_server.base_url}/v1/Messaging/Countries")
    assert missing.status_code == 404
    assert missing.json() == {
        "code": 20404,
        "message": "The requested resource /v2/Voice/Countries/ZZ was not found",
        "more_info": "https://www.twilio.com/docs/errors/20404",
        "status": 404,
    }
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["code"] == 20003
