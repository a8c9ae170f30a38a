"""The Voximplant management API through the official Python SDK (voximplant-apiclient).

The SDK always speaks https to `endpoint`; the module-local httpx shim below turns its
requests into plain http for the test server, and only inside the SDK's module.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import jwt
import pytest
import voximplant.apiclient.client as voxclient
from tests.conftest import LiveServer
from voximplant.apiclient import VoximplantAPI, VoximplantAPIConfig, VoximplantException

from telebill.domain.accounts import Account, KeyKind, Role
from telebill.domain.catalog.plans import ConditionKind, PricePlan, Tier
from telebill.domain.money import format_decimal
from telebill.service.accounts import NewKey
from telebill.service.pricing import PriceView


class _HttpxShim:
    """`httpx` as the SDK module sees it: the same, but posting over plain http."""

    def __getattr__(self, name: str) -> Any:
        return getattr(httpx, name)

    @staticmethod
    def post(url: str, **kwargs: Any) -> httpx.Response:
        return httpx.post(url.replace("https://", "http://", 1), **kwargs)


@pytest.fixture(autouse=True)
def _plain_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(voxclient, "httpx", _HttpxShim())


@dataclass
class Vox:
    server: LiveServer
    tmp: Path

    @property
    def endpoint(self) -> str:
        return self.server.base_url.removeprefix("http://")

    def account(self, who: str) -> Account:
        sid = self.server.accounts[who].sid
        return next(a for a in self.server.container.accounts.list_accounts() if a.sid == sid)

    def view(self, who: str) -> PriceView:
        return self.server.container.pricing.view(self.account(who))

    def key(self, who: str = "acme") -> NewKey:
        return self.server.container.accounts.create_key(self.server.accounts[who].sid, Role.ADMIN, KeyKind.JWT)

    def credentials(self, key: NewKey, who: str = "acme", private_key: str | None = None) -> Path:
        path = self.tmp / f"{key.key.sid}.json"
        body = {
            "account_id": self.account(who).number,
            "key_id": key.key.sid,
            "private_key": private_key or key.private_key_pem,
        }
        path.write_text(json.dumps(body), encoding="utf-8")
        return path

    def sdk(self, who: str = "acme", key: NewKey | None = None) -> VoximplantAPI:
        path = self.credentials(key or self.key(who), who)
        return VoximplantAPI(credentials_file_path=str(path), endpoint=self.endpoint)

    def sdk_as(self, account_id: int, key: NewKey) -> VoximplantAPI:
        config = VoximplantAPIConfig(str(self.credentials(key)), self.endpoint, account_id)
        return VoximplantAPI(config=config)

    def bearer(self, key: NewKey, iss: str) -> dict[str, str]:
        now = int(time.time())
        claims = {"iss": iss, "iat": now - 5, "exp": now + 30}
        assert key.private_key_pem is not None
        token = jwt.encode(claims, key.private_key_pem, algorithm="RS256", headers={"kid": key.key.sid})
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def vox(live_server: LiveServer, tmp_path: Path) -> Vox:
    return Vox(live_server, tmp_path)


def groups_of(response: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    [item] = [r for r in response["result"] if r["resource_type"] == resource_type]
    groups: list[dict[str, Any]] = item["price_groups"]
    return groups


def exact(value: float) -> Decimal:
    """The decimal the SDK's float came from (json floats keep the shortest repr)."""
    return Decimal(str(value))


# -- authentication ----------------------------------------------------------------------


def test_account_info_describes_the_key_owners_account(vox: Vox) -> None:
    res = vox.sdk().get_account_info(return_live_balance=True)
    acme = vox.account("acme")
    info = res["result"]
    assert info["account_id"] == acme.number
    assert info["account_name"] == "acme"
    assert info["currency"] == "USD"
    assert info["active"] is True
    assert info["frozen"] is False
    assert info["created"] == acme.created_at  # parsed by the SDK from "%Y-%m-%d %H:%M:%S" UTC
    assert info["balance"] == 0  # a new account has no credit
    assert info["credit_limit"] == 0  # cut_off: no credit below zero
    assert info["min_balance_to_notify"] == 5  # the default low-balance threshold
    assert res["api_address"] == vox.endpoint


def test_account_info_reports_the_available_credit_exactly(vox: Vox) -> None:
    from decimal import Decimal

    acme = vox.account("acme")
    credits = vox.server.container.credits
    credits.update_settings(acme, {"billing_address": "1 Main St"})
    credits.top_up(acme, "12.34", "vox-1")
    info = vox.sdk().get_account_info()["result"]
    assert Decimal(str(info["balance"])) == Decimal("12.34")


def test_an_sdk_configured_without_an_account_id_sends_iss_0_and_is_accepted(vox: Vox) -> None:
    api = vox.sdk_as(0, vox.key())
    assert api.account_id == 0
    assert api.get_account_info()["result"]["account_name"] == "acme"


def test_iss_naming_a_sub_account_acts_as_that_sub_account(vox: Vox) -> None:
    sub = vox.account("acme_sub")
    info = vox.sdk_as(sub.number, vox.key()).get_account_info()["result"]
    assert info["account_id"] == sub.number
    assert info["account_name"] == "acme sub"


def test_iss_naming_an_unrelated_account_is_refused(vox: Vox) -> None:
    api = vox.sdk_as(vox.account("other").number, vox.key())
    with pytest.raises(VoximplantException) as caught:
        api.get_account_info()
    assert caught.value.code == 100


def test_a_sub_account_cannot_act_as_its_parent(vox: Vox) -> None:
    api = vox.sdk_as(vox.account("acme").number, vox.key("acme_sub"))
    with pytest.raises(VoximplantException) as caught:
        api.get_account_info()
    assert caught.value.code == 100


def test_an_expired_token_is_refused(vox: Vox, monkeypatch: pytest.MonkeyPatch) -> None:
    api = vox.sdk()
    real = time.time
    monkeypatch.setattr(voxclient, "time", SimpleNamespace(time=lambda: real() - 3600))
    with pytest.raises(VoximplantException) as caught:
        api.get_account_info()
    assert caught.value.code == 100
    assert "expired" in caught.value.message


def test_a_token_signed_by_another_key_is_refused(vox: Vox) -> None:
    key, stranger = vox.key(), vox.key()
    path = vox.credentials(key, private_key=stranger.private_key_pem)
    with pytest.raises(VoximplantException) as caught:
        VoximplantAPI(credentials_file_path=str(path), endpoint=vox.endpoint).get_account_info()
    assert caught.value.code == 100


def test_a_revoked_key_is_refused(vox: Vox) -> None:
    key = vox.key()
    api = vox.sdk(key=key)
    assert api.get_account_info()["result"]["account_name"] == "acme"
    vox.server.container.accounts.revoke_key(key.key.sid)
    with pytest.raises(VoximplantException) as caught:
        api.get_account_info()
    assert caught.value.code == 100


def test_a_request_without_credentials_gets_the_error_envelope(vox: Vox) -> None:
    r = httpx.post(f"{vox.server.base_url}/platform_api", data={"cmd": "GetAccountInfo"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["error"]["code"] == 100


# -- GetResourcePrice --------------------------------------------------------------------


def test_domestic_prices_come_from_the_plans_domestic_tier(vox: Vox) -> None:
    res = vox.sdk().get_resource_price(resource_type="PSTN_OUT_INCOUNTRY", resource_param="447700900123")
    [group] = groups_of(res, "PSTN_OUT_INCOUNTRY")
    assert group["price_group_name"] == "UK - Mobile"  # the catalog's name (CLDR short form)
    assert exact(group["price"]) == Decimal("0.0120")
    assert group["num_resources_per_price"] == 60
    assert group["quantum"] == 60
    assert group["params"] == {"allowed": ["447"], "forbidden": [], "requested": ["447700900123"]}
    assert group["country_code"] == "GB"


def test_eea_prices_come_from_the_plans_eea_tier(vox: Vox) -> None:
    view = vox.view("acme")
    [eea] = [view.decks[t.deck] for t in view.plan.tiers if t.condition is ConditionKind.ORIGIN_IN_GROUP]
    entry = eea.voice_rate("4930123456")
    res = vox.sdk().get_resource_price(resource_type=["PSTNOUT_EEA"], resource_param=["4930123456"])
    [group] = groups_of(res, "PSTNOUT_EEA")
    assert exact(group["price"]) == entry.tariff.current_price
    assert group["price_group_name"] == entry.friendly_name
    assert entry.prefix in group["params"]["allowed"]
    assert group["quantum"] == entry.tariff.increments.subsequent


def test_international_prices_come_from_the_list_deck_with_exact_decimals(vox: Vox) -> None:
    entry = vox.view("acme").list_deck.voice_rate("81312345678")
    res = vox.sdk().get_resource_price(resource_type="PSTN_INTERNATIONAL", resource_param="+81312345678")
    [group] = groups_of(res, "PSTN_INTERNATIONAL")
    assert exact(group["price"]) == entry.tariff.current_price
    assert group["country_code"] == "JP"
    assert group["params"]["requested"] == ["+81312345678"]
    assert group["quantum"] == entry.tariff.increments.subsequent


@pytest.mark.parametrize(
    ("resource_type", "number", "name", "price", "quantum"),
    [
        ("PSTN_IN_GEOGRAPHIC", "442071234567", "United Kingdom Geographic", "0.0030", 60),
        ("PSTN_IN_MOBILE", "33612345678", "France Mobile", "0.0120", 60),
        ("PSTN_IN_TOLLFREE", "18002345678", "United States Toll-free", "0.0180", 6),
        ("PSTN_IN_NATIONAL", "4970012345678", "Germany National", "0.0060", 60),
    ],
)
def test_inbound_prices_are_the_list_decks_by_number_type(
    vox: Vox, resource_type: str, number: str, name: str, price: str, quantum: int
) -> None:
    res = vox.sdk().get_resource_price(resource_type=resource_type, resource_param=number)
    [group] = groups_of(res, resource_type)
    assert group["price_group_name"] == name
    assert exact(group["price"]) == Decimal(price)
    assert group["num_resources_per_price"] == 60
    assert group["quantum"] == quantum
    assert group["params"]["requested"] == [number]


def test_inbound_prices_list_one_group_per_country(vox: Vox) -> None:
    groups = groups_of(vox.sdk().get_resource_price(resource_type="PSTN_IN_GEOGRAPHIC"), "PSTN_IN_GEOGRAPHIC")
    assert {g["country_code"] for g in groups} == {"US", "CA", "GB", "FR", "DE", "AU", "ES", "NL"}
    [gb] = [g for g in groups if g["country_code"] == "GB"]
    assert gb["params"]["allowed"] == ["44"]


def test_sms_prices_follow_the_longest_prefix_and_are_per_message(vox: Vox) -> None:
    res = vox.sdk().get_resource_price(resource_type="SMSOUT", resource_param=["77051234567", "77011234567"])
    groups = {g["price_group_name"]: g for g in groups_of(res, "SMSOUT")}
    assert set(groups) == {"Kazakhstan SMS", "Kazakhstan SMS +7705"}
    assert exact(groups["Kazakhstan SMS +7705"]["price"]) == Decimal("0.1900")
    assert groups["Kazakhstan SMS +7705"]["params"]["requested"] == ["77051234567"]
    assert exact(groups["Kazakhstan SMS"]["price"]) == Decimal("0.1600")
    assert groups["Kazakhstan SMS"]["params"]["requested"] == ["77011234567"]
    assert all(g["num_resources_per_price"] == 1 and g["quantum"] == 1 for g in groups.values())


def test_an_accounts_prices_carry_its_overrides_and_its_currency(vox: Vox) -> None:
    view = vox.view("other")
    assert view.currency.code == "EUR"
    api = vox.sdk("other")
    res = api.get_resource_price(resource_type="PSTN_OUT_INCOUNTRY;SMSOUT", resource_param="447700900123")
    [uk_mobile] = groups_of(res, "PSTN_OUT_INCOUNTRY")
    fixed = view.convert(Decimal("0.01"))  # demo-discount fixes UK prices at 0.01 USD
    assert exact(uk_mobile["price"]) == fixed
    [uk_sms] = groups_of(res, "SMSOUT")
    assert exact(uk_sms["price"]) == view.convert(Decimal("0.0400"))
    fr = vox.view("other").list_deck.voice_rate("33140000000")
    res = api.get_resource_price(resource_type="PSTN_INTERNATIONAL", resource_param="33140000000")
    [group] = groups_of(res, "PSTN_INTERNATIONAL")
    assert exact(group["price"]) == view.convert(fr.tariff.current_price * 90 / 100)  # 10% off


def test_resource_param_keeps_only_the_groups_that_price_it(vox: Vox) -> None:
    deck = vox.view("acme").list_deck
    res = vox.sdk().get_resource_price(
        resource_type="PSTN_INTERNATIONAL", resource_param="33612345678;33140000000;870772001234"
    )
    groups = groups_of(res, "PSTN_INTERNATIONAL")
    names = sorted(g["price_group_name"] for g in groups)
    expected = {deck.voice_rate("33612345678").friendly_name, deck.voice_rate("33140000000").friendly_name}
    assert names == sorted(expected)
    requested = sorted(r for g in groups for r in g["params"]["requested"])
    assert requested == ["33140000000", "33612345678"]  # Inmarsat is blocked: no price group
    for g in groups:
        for number in g["params"]["requested"]:
            assert any(number.startswith(p) for p in g["params"]["allowed"])


def test_price_groups_are_filtered_by_id_and_by_name(vox: Vox) -> None:
    api = vox.sdk()
    [group] = groups_of(
        api.get_resource_price(resource_type="PSTN_INTERNATIONAL", resource_param="4930123456"),
        "PSTN_INTERNATIONAL",
    )
    by_id = api.get_resource_price(price_group_id=[group["price_group_id"]])["result"]
    unrequested = {**group, "params": {**group["params"], "requested": []}}
    assert by_id == [{"resource_type": "PSTN_INTERNATIONAL", "price_groups": [unrequested]}]
    name = group["price_group_name"]
    by_name = groups_of(api.get_resource_price(price_group_name=name.upper()), "PSTN_INTERNATIONAL")
    assert [g["price_group_id"] for g in by_name] == [group["price_group_id"]]


def test_a_resource_type_the_plan_has_no_tier_for_is_an_empty_list(vox: Vox) -> None:
    c = vox.server.container
    c.catalog.create_plan(PricePlan("intl-only", (Tier(ConditionKind.ALWAYS, "demo-international"),)))
    c.accounts.set_plan(vox.server.accounts["acme"].sid, "intl-only")
    res = vox.sdk().get_resource_price(resource_type="PSTN_OUT_INCOUNTRY;PSTNOUT_EEA")
    assert res["result"] == [
        {"resource_type": "PSTN_OUT_INCOUNTRY", "price_groups": []},
        {"resource_type": "PSTNOUT_EEA", "price_groups": []},
    ]


def test_all_resource_types_are_listed_when_none_is_named(vox: Vox) -> None:
    res = vox.sdk().get_resource_price()
    assert [r["resource_type"] for r in res["result"]] == [
        "PSTN_OUT_INCOUNTRY",
        "PSTNOUT_EEA",
        "PSTN_INTERNATIONAL",
        "PSTN_IN_GEOGRAPHIC",
        "PSTN_IN_MOBILE",
        "PSTN_IN_TOLLFREE",
        "PSTN_IN_NATIONAL",
        "SMSOUT",
    ]
    ids = [g["price_group_id"] for r in res["result"] for g in r["price_groups"]]
    assert len(ids) == len(set(ids))


def test_an_unknown_resource_type_is_an_error(vox: Vox) -> None:
    with pytest.raises(VoximplantException) as caught:
        vox.sdk().get_resource_price(resource_type="PSTN_MARS")
    assert caught.value.code == 400
    assert "PSTN_MARS" in caught.value.message


# -- phone numbers -----------------------------------------------------------------------


def test_subscription_prices_are_the_phone_number_prices(vox: Vox) -> None:
    api = vox.sdk()
    res = api.get_subscription_price(subscription_template_name="Phone GB local London")
    [london] = res["result"]
    assert exact(london["price"]) == Decimal("1.50")
    assert exact(london["installation_price"]) == Decimal("0.00")
    assert london["period"] == "0-1-0 0:0:0"
    assert london["subscription_template_type"] == "PHONE_NUM"
    assert london["currency"] == "USD"
    again = api.get_subscription_price(subscription_template_id=[london["subscription_template_id"]])
    assert again["result"] == [london]
    page = api.get_subscription_price(subscription_template_type="PHONE_NUM", count=5, offset=15)
    assert page["total_count"] == len(vox.view("acme").list_deck.numbers) == 18
    assert page["count"] == len(page["result"]) == 3
    assert api.get_subscription_price(subscription_template_type="SIP_REGISTRATION")["result"] == []


def test_phone_number_categories_give_each_countrys_categories_and_prices(vox: Vox) -> None:
    res = vox.sdk().get_phone_number_categories(country_code=["gb", "US"], sandbox=False, locale="en")
    assert res["count"] == 2
    countries = {c["country_code"]: c for c in res["result"]}
    gb = countries["GB"]
    assert gb["phone_prefix"] == "44"
    assert gb["localized_country_name"] == "United Kingdom"
    assert gb["can_list_phone_numbers"] is False
    categories = {c["phone_category_name"]: c for c in gb["phone_categories"]}
    assert set(categories) == {"GEOGRAPHIC", "MOBILE", "TOLLFREE"}
    assert exact(categories["GEOGRAPHIC"]["phone_price"]) == Decimal("1.20")  # the country-wide price
    assert exact(categories["TOLLFREE"]["phone_installation_price"]) == Decimal("5.00")
    assert categories["TOLLFREE"]["incoming_calls_resource_name"] == "PSTN_IN_TOLLFREE"
    assert categories["MOBILE"]["phone_period"] == "0-1-0 0:0:0"
    assert countries["US"]["phone_prefix"] == "1"


@pytest.mark.parametrize("sandbox", ["True", "true", "1"])
def test_booleans_are_read_in_any_case(vox: Vox, sandbox: str) -> None:
    res = vox.sdk().get_phone_number_categories(sandbox=sandbox)
    assert res == {"result": [], "count": 0}  # no sandbox numbers are offered


def test_a_malformed_boolean_is_an_error(vox: Vox) -> None:
    with pytest.raises(VoximplantException, match="sandbox"):
        vox.sdk().get_phone_number_categories(sandbox="maybe")


def test_phone_number_regions_list_each_region_of_a_category(vox: Vox) -> None:
    res = vox.sdk().get_phone_number_regions("GB", "GEOGRAPHIC")
    assert res["count"] == 2
    regions = {r["phone_region_name"]: r for r in res["result"]}
    assert set(regions) == {"London", "United Kingdom"}
    london = regions["London"]
    assert exact(london["phone_price"]) == Decimal("1.50")
    assert exact(london["phone_installation_price"]) == Decimal("0.00")
    assert london["phone_count"] == 0
    assert london["is_sms_supported"] is True
    assert london["multiple_numbers_price"] == []
    assert london["country_code"] == "GB"
    assert london["phone_category_name"] == "GEOGRAPHIC"
    only = vox.sdk().get_phone_number_regions("GB", "GEOGRAPHIC", phone_region_id=london["phone_region_id"])
    assert only["result"] == [london]
    assert vox.sdk().get_phone_number_regions("gb", "local") == res  # case and our own names too


def test_phone_number_regions_name_a_missing_parameter(vox: Vox) -> None:
    with pytest.raises(VoximplantException, match="phone_category_name"):
        vox.sdk().get_phone_number_regions("GB", "")


# -- wire format -------------------------------------------------------------------------


def test_a_multipart_post_to_the_method_path_is_understood(vox: Vox) -> None:
    headers = vox.bearer(vox.key(), str(vox.account("acme").number))
    base = vox.server.base_url
    for path in ("/platform_api/GetAccountInfo", "/platform_api/GetAccountInfo/"):
        r = httpx.post(base + path, files={"return_live_balance": (None, "true")}, headers=headers)
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/json"
        assert r.json()["result"]["account_name"] == "acme"
    r = httpx.get(f"{base}/platform_api/GetPhoneNumberRegions", params={"country_code": "GB"}, headers=headers)
    assert r.json()["error"]["code"] == 400
    assert "phone_category_name" in r.json()["error"]["msg"]


def test_a_node_style_multipart_request_with_a_numeric_iss_is_understood(vox: Vox) -> None:
    key, number = vox.key(), vox.account("acme").number
    assert key.private_key_pem is not None
    now = int(time.time())
    claims = json.dumps({"iss": number, "iat": now, "exp": now + 64}).encode()  # PyJWT refuses int iss
    token = jwt.api_jws.encode(claims, key.private_key_pem, algorithm="RS256", headers={"kid": key.key.sid})
    fields = {
        "cmd": (None, "GetPhoneNumberCategories"),
        "country_code": (None, "FR"),
        "sandbox": (None, "false"),
    }
    r = httpx.post(f"{vox.server.base_url}/platform_api", files=fields, headers={"Authorization": f"Bearer {token}"})
    assert r.headers["content-type"] == "application/json"
    [france] = r.json()["result"]
    assert france["phone_prefix"] == "33"
    assert '"phone_installation_price":15.00,' in r.text  # FR toll-free, exact


def test_an_urlencoded_post_with_cmd_writes_prices_as_exact_json_numbers(vox: Vox) -> None:
    headers = vox.bearer(vox.key(), "0")
    form = {
        "cmd": "GetResourcePrice",
        "resource_type": "pstn_out_incountry",
        "resource_param": "447700900123",
    }
    r = httpx.post(f"{vox.server.base_url}/platform_api", data=form, headers=headers)
    assert r.headers["content-type"] == "application/json"
    assert '"price":0.0120,' in r.text
    entry = vox.view("acme").list_deck.voice_rate("81312345678")
    form = {"cmd": "GetResourcePrice", "resource_type": "PSTN_INTERNATIONAL", "resource_param": "81312345678"}
    r = httpx.post(f"{vox.server.base_url}/platform_api", data=form, headers=headers)
    assert f'"price":{format_decimal(entry.tariff.current_price)},' in r.text


def test_converted_prices_are_exact_json_numbers_too(vox: Vox) -> None:
    view = vox.view("other")
    headers = vox.bearer(vox.key("other"), "0")
    form = {"cmd": "GetResourcePrice", "resource_type": "SMSOUT", "resource_param": "33612345678"}
    r = httpx.post(f"{vox.server.base_url}/platform_api", data=form, headers=headers)
    assert f'"price":{format_decimal(view.convert(Decimal("0.0720")))},' in r.text


def test_an_unknown_method_gets_the_error_envelope(vox: Vox) -> None:
    headers = vox.bearer(vox.key(), "0")
    base = vox.server.base_url
    for r in (
        httpx.post(f"{base}/platform_api", data={"cmd": "GetMoonPrice"}, headers=headers),
        httpx.post(f"{base}/platform_api", data={}, headers=headers),
        httpx.get(f"{base}/platform_api/GetMoonPrice", headers=headers),
    ):
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/json"
        assert r.json()["error"]["code"] == 103
