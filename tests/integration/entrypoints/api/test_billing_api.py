"""The prepaid billing API (`/v1/accounts/{sid}/...`) through a real uvicorn server.

Prices are the demo catalog's: a UK mobile from a US line costs 0.0210 a minute billed 60/60
under plan `demo`; inbound calls to a US local number 0.0040 a minute billed 6/6; an SMS
inside the US 0.0079. `acme` and `acme_sub` pay in USD (plan demo), `other` in EUR (plan
demo-discount, whose UK rate is a fixed 0.01 USD, converted at the ECB rate of the day).
"""

from __future__ import annotations

import csv
from concurrent.futures import ThreadPoolExecutor
from decimal import ROUND_HALF_UP, Decimal
from importlib.resources import files
from typing import Any

import httpx
import pytest
from tests.conftest import LiveServer

from telebill.adapters.payments import ScriptedPayments
from telebill.domain.accounts import Role

US_LINE = "+14155550100"
US_LINE_2 = "+14155550111"
SUB_LINE = "+14155550122"
OTHER_LINE = "+14155550177"
UK_MOBILE = "+447400123456"
FR_MOBILE = "+33612345678"
US_PEER = "+14155550123"
NOT_OURS = "+14155550199"


# -- helpers --------------------------------------------------------------------------------


def client(server: LiveServer, who: str = "acme", auth: tuple[str, str] | None = None) -> httpx.Client:
    creds = server.accounts[who]
    return httpx.Client(base_url=server.base_url, auth=auth or (creds.sid, creds.token), timeout=20)


def path(server: LiveServer, who: str, rest: str = "") -> str:
    return f"/v1/accounts/{server.accounts[who].sid}{rest}"


def key_of(server: LiveServer, who: str, role: Role) -> tuple[str, str]:
    new = server.container.accounts.create_key(server.accounts[who].sid, role)
    assert new.secret is not None
    return new.key.sid, new.secret


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text}"
    return r.json() if r.content else None


def fund(
    c: httpx.Client,
    server: LiveServer,
    who: str = "acme",
    amount: str = "10.00",
    line: str = US_LINE,
    international: bool = True,
) -> None:
    """Billing address, a top-up, a line (with international calling on unless told)."""
    ok(c.patch(path(server, who), json={"billing_address": "1 Main St, San Francisco"}))
    ok(c.post(path(server, who, "/topups"), json={"amount": amount}, headers={"Idempotency-Key": f"fund-{who}"}))
    ok(c.post(path(server, who, "/numbers"), json={"phone_number": line}), 201)
    if international:
        ok(c.patch(path(server, who, f"/numbers/{line}"), json={"international_calling": True}))


def call(
    c: httpx.Client,
    server: LiveServer,
    call_id: str,
    to: str = UK_MOBILE,
    frm: str = US_LINE,
    who: str = "acme",
    **extra: str,
) -> dict[str, Any]:
    body = {"call_id": call_id, "from": frm, "to": to, **extra}
    result: dict[str, Any] = ok(c.post(path(server, who, "/calls"), json=body))
    return result


def account(c: httpx.Client, server: LiveServer, who: str = "acme") -> dict[str, Any]:
    result: dict[str, Any] = ok(c.get(path(server, who)))
    return result


def history(c: httpx.Client, server: LiveServer, who: str = "acme") -> dict[str, dict[str, Any]]:
    return {h["call_id"]: h for h in ok(c.get(path(server, who, "/calls")))["calls"]}


def ecb(day: str, code: str) -> Decimal:
    text = (files("telebill") / "data" / "ecb-eurofxref.csv").read_text(encoding="utf-8")
    for row in csv.DictReader(text.splitlines()):
        if row["Date"] == day:
            return Decimal(row[code])
    raise AssertionError(day)


# -- account, settings, top-ups -------------------------------------------------------------


def test_the_account_view_shows_balance_currency_policy_and_thresholds(live_server: LiveServer) -> None:
    with client(live_server) as c:
        body = account(c, live_server)
    assert body["sid"] == live_server.accounts["acme"].sid
    assert body["name"] == "acme"
    assert (body["currency"], body["balance"], body["holds"], body["available"]) == ("USD", "0.00", "0.00", "0.00")
    assert (body["policy"], body["credit_limit"], body["low_balance_threshold"]) == ("cut_off", "0.00", "5.00")
    assert body["auto_recharge"]["enabled"] is False
    assert body["suspended"] is False
    assert body["notify_email"] == ""
    with client(live_server) as c:
        changed = ok(c.patch(path(live_server, "acme"), json={"notify_email": " ops@acme.example "}))
        assert changed["notify_email"] == "ops@acme.example"
        bad = c.patch(path(live_server, "acme"), json={"notify_email": "ops at acme"})
        assert (bad.status_code, bad.json()["message"]) == (400, "notify_email must be an e-mail address (name@domain)")
    with client(live_server, "other") as c:
        assert account(c, live_server, "other")["currency"] == "EUR"


def test_settings_and_international_calling_need_an_admin_or_a_manager(live_server: LiveServer) -> None:
    member = key_of(live_server, "acme", Role.MEMBER)
    manager = key_of(live_server, "acme", Role.MANAGER)
    with client(live_server) as owner:
        ok(owner.post(path(live_server, "acme", "/numbers"), json={"phone_number": US_LINE}), 201)
    with client(live_server, auth=member) as c:
        assert account(c, live_server)["policy"] == "cut_off"  # a member may read
        r = c.patch(path(live_server, "acme"), json={"low_balance_threshold": "1.00"})
        assert r.status_code == 403, r.text
        assert r.json()["error"] == "Forbidden"
        r = c.patch(path(live_server, "acme", f"/numbers/{US_LINE}"), json={"international_calling": True})
        assert r.status_code == 403, r.text
        assert c.post(path(live_server, "acme", "/numbers"), json={"phone_number": US_LINE_2}).status_code == 403
        assert c.post(path(live_server, "acme", "/blocks"), json={"destination": "FR"}).status_code == 403
    with client(live_server, auth=manager) as c:
        changes = {"policy": "allow_negative", "credit_limit": "2.50", "low_balance_threshold": "1.00"}
        body = ok(c.patch(path(live_server, "acme"), json=changes))
        assert (body["policy"], body["credit_limit"], body["low_balance_threshold"]) == (
            "allow_negative",
            "2.50",
            "1.00",
        )
        line = ok(c.patch(path(live_server, "acme", f"/numbers/{US_LINE}"), json={"international_calling": True}))
        assert line["international_calling"] is True
    with client(live_server) as owner:
        assert account(owner, live_server)["credit_limit"] == "2.50"
        assert ok(owner.get(path(live_server, "acme", "/numbers")))["numbers"][0]["international_calling"] is True
        r = owner.patch(path(live_server, "acme"), json={"credit_limit": "-1"})
        assert r.status_code == 400, r.text


def test_a_usd_account_needs_a_billing_address_before_a_top_up(live_server: LiveServer) -> None:
    with client(live_server) as c:
        r = c.post(path(live_server, "acme", "/topups"), json={"amount": "25.00"}, headers={"Idempotency-Key": "k1"})
        assert r.status_code == 400, r.text
        assert r.json()["error"] == "InvalidInput"
        assert "billing address" in r.json()["message"]
        assert account(c, live_server)["balance"] == "0.00"
        # a VAT number is a billing identity too (acme acting on its sub-account)
        ok(c.patch(path(live_server, "acme_sub"), json={"vat_number": "US123456789"}))
        body = ok(
            c.post(path(live_server, "acme_sub", "/topups"), json={"amount": "5.00"}, headers={"Idempotency-Key": "k1"})
        )
    assert (body["status"], body["account"]["balance"]) == ("succeeded", "5.00")


def test_a_top_up_is_idempotent_by_its_key(live_server: LiveServer) -> None:
    topups = path(live_server, "acme", "/topups")
    with client(live_server) as c:
        ok(c.patch(path(live_server, "acme"), json={"billing_address": "1 Main St"}))
        first = ok(c.post(topups, json={"amount": "25.00"}, headers={"Idempotency-Key": "pay-1"}))
        again = ok(c.post(topups, json={"amount": "25.00"}, headers={"Idempotency-Key": "pay-1"}))
        assert (first["status"], first["amount"], first["currency"], first["replayed"]) == (
            "succeeded",
            "25.00",
            "USD",
            False,
        )
        assert first["account"]["balance"] == "25.00"
        assert {**again, "replayed": False} == first
        assert again["replayed"] is True
        r = c.post(topups, json={"amount": "30.00"}, headers={"Idempotency-Key": "pay-1"})
        assert r.status_code == 409, r.text
        assert r.json()["error"] == "IdempotencyConflict"
        assert account(c, live_server)["balance"] == "25.00"
        second = ok(c.post(topups, json={"amount": "5.00"}, headers={"Idempotency-Key": "pay-2"}))
        assert (second["replayed"], second["account"]["balance"]) == (False, "30.00")
        assert c.post(topups, json={"amount": "5.00"}).status_code == 400  # the key is required
        bad = c.post(topups, json={"amount": "5.001"}, headers={"Idempotency-Key": "pay-3"})
        assert bad.status_code == 400, bad.text
        assert "2 decimals" in bad.json()["message"]
        assert c.post(topups, json={"amount": "0"}, headers={"Idempotency-Key": "pay-4"}).status_code == 400
        assert account(c, live_server)["balance"] == "30.00"


def test_concurrent_replays_of_a_top_up_add_the_credit_once(live_server: LiveServer) -> None:
    topups = path(live_server, "acme", "/topups")
    with client(live_server) as c:
        ok(c.patch(path(live_server, "acme"), json={"billing_address": "1 Main St"}))

    def send(_: int) -> httpx.Response:
        with client(live_server) as c:
            return c.post(topups, json={"amount": "7.00"}, headers={"Idempotency-Key": "same"})

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(8)))
    assert [r.status_code for r in answers] == [200] * 8, [r.text for r in answers if r.status_code != 200]
    assert sorted(r.json()["replayed"] for r in answers) == [False] + [True] * 7
    with client(live_server) as c:
        assert account(c, live_server)["balance"] == "7.00"


# -- numbers and blocks -----------------------------------------------------------------------


def test_numbers_are_added_listed_and_toggled(live_server: LiveServer) -> None:
    numbers = path(live_server, "acme", "/numbers")
    with client(live_server) as c:
        added = ok(c.post(numbers, json={"phone_number": "+1 415 555 0100"}), 201)
        assert (added["phone_number"], added["international_calling"]) == (US_LINE, False)
        assert ok(c.post(numbers, json={"phone_number": US_LINE}), 201)["phone_number"] == US_LINE  # again: same line
        ok(c.post(numbers, json={"phone_number": US_LINE_2}), 201)
        listed = ok(c.get(numbers))["numbers"]
        assert sorted((n["phone_number"], n["international_calling"]) for n in listed) == [
            (US_LINE, False),
            (US_LINE_2, False),
        ]
        on = ok(c.patch(f"{numbers}/{US_LINE}", json={"international_calling": True}))
        assert on["international_calling"] is True
        listed = {n["phone_number"]: n["international_calling"] for n in ok(c.get(numbers))["numbers"]}
        assert listed == {US_LINE: True, US_LINE_2: False}
        off = ok(c.patch(f"{numbers}/{US_LINE}", json={"international_calling": False}))
        assert off["international_calling"] is False
        assert c.patch(f"{numbers}/{NOT_OURS}", json={"international_calling": True}).status_code == 404
        assert c.post(numbers, json={"phone_number": "not a number"}).status_code == 400
    with client(live_server, "other") as c:
        r = c.post(path(live_server, "other", "/numbers"), json={"phone_number": US_LINE})
        assert r.status_code == 409, r.text  # a number belongs to one account
        r = c.patch(path(live_server, "other", f"/numbers/{US_LINE}"), json={"international_calling": True})
        assert r.status_code == 404, r.text


def test_a_country_block_refuses_calls_there_until_lifted(live_server: LiveServer) -> None:
    blocks = path(live_server, "acme", "/blocks")
    with client(live_server) as c:
        fund(c, live_server)
        assert ok(c.post(blocks, json={"destination": "fr"}), 201) == {"kind": "country", "value": "FR"}
        assert ok(c.post(blocks, json={"destination": "+88"}), 201) == {"kind": "prefix", "value": "88"}
        assert ok(c.get(blocks))["blocks"] == [{"kind": "country", "value": "FR"}, {"kind": "prefix", "value": "88"}]
        refused = call(c, live_server, "fr-1", FR_MOBILE)
        assert (refused["allowed"], refused["reason"], refused["granted_until_s"]) == (False, "destination_blocked", 0)
        assert call(c, live_server, "uk-1", UK_MOBILE)["allowed"] is True
        assert account(c, live_server)["holds"] == "0.021"  # the refused call held nothing
        assert c.post(blocks, json={"destination": "ZZ"}).status_code == 400
        assert c.delete(f"{blocks}/FR").status_code == 204
        assert ok(c.get(blocks))["blocks"] == [{"kind": "prefix", "value": "88"}]
        assert call(c, live_server, "fr-2", FR_MOBILE)["allowed"] is True
        assert history(c, live_server)["fr-1"]["status"] == "refused"


# -- calls ------------------------------------------------------------------------------------


def test_a_call_is_authorised_debited_as_it_goes_and_settled_exactly(live_server: LiveServer) -> None:
    calls = path(live_server, "acme", "/calls")
    with client(live_server) as c:
        fund(c, live_server)
        auth = call(c, live_server, "c1")
        assert auth == {
            "call_id": "c1",
            "allowed": True,
            "reason": None,
            "max_duration_s": 4 * 3600,  # 476 minutes of credit, capped at the longest call
            "granted_until_s": 60,
            "rate": "0.0210",
            "rate_currency": "USD",
            "currency": "USD",
            "free": False,
        }
        assert (account(c, live_server)["holds"], account(c, live_server)["available"]) == ("0.021", "9.979")
        u1 = ok(c.post(f"{calls}/c1/usage", json={"used_s": 60}))
        assert u1 == {"call_id": "c1", "continue": True, "granted_until_s": 120, "charged": "0.021", "currency": "USD"}
        u2 = ok(c.post(f"{calls}/c1/usage", json={"used_s": 120}))
        assert (u2["continue"], u2["granted_until_s"], u2["charged"]) == (True, 180, "0.042")
        assert ok(c.post(f"{calls}/c1/usage", json={"used_s": 120})) == u2  # a replay changes nothing
        bal = account(c, live_server)
        assert (bal["balance"], bal["holds"], bal["available"]) == ("9.958", "0.021", "9.937")
        end = ok(c.post(f"{calls}/c1/end", json={"duration_s": 150, "answered": True}))
        assert end == {"call_id": "c1", "charge": "0.063", "currency": "USD", "billed_s": 180, "balance": "9.937"}
        again = ok(c.post(f"{calls}/c1/end", json={"duration_s": 400, "answered": True}))
        assert (again["charge"], again["billed_s"], again["balance"]) == ("0.063", 180, "9.937")
        late = ok(c.post(f"{calls}/c1/usage", json={"used_s": 180}))
        assert (late["continue"], late["charged"]) == (False, "0.063")
        bal = account(c, live_server)
        assert (bal["balance"], bal["holds"], bal["available"]) == ("9.937", "0.00", "9.937")
        # the same call id with other details is a conflict; an unknown call is not found
        r = c.post(calls, json={"call_id": "c1", "from": US_LINE, "to": FR_MOBILE})
        assert r.status_code == 409, r.text
        assert c.post(f"{calls}/nope/usage", json={"used_s": 60}).status_code == 404
        assert c.post(f"{calls}/nope/end", json={"duration_s": 60}).status_code == 404
        assert c.post(f"{calls}/c1/end", json={"duration_s": -1}).status_code == 400


def test_a_replayed_usage_report_answers_like_the_first(live_server: LiveServer) -> None:
    """Credit for one minute only: the report at 30 s is told to stop at 60 s, and so is its replay."""
    calls = path(live_server, "acme", "/calls")
    with client(live_server) as c:
        fund(c, live_server, amount="0.03")
        assert call(c, live_server, "c1")["granted_until_s"] == 60
        first = ok(c.post(f"{calls}/c1/usage", json={"used_s": 30}))
        assert (first["continue"], first["granted_until_s"], first["charged"]) == (False, 60, "0.021")
        assert ok(c.post(f"{calls}/c1/usage", json={"used_s": 30})) == first
        assert ok(c.post(f"{calls}/c1/usage", json={"used_s": 10})) == first  # a stale report too


def test_cut_off_grants_only_what_the_credit_covers(live_server: LiveServer) -> None:
    calls = path(live_server, "acme", "/calls")
    with client(live_server) as c:
        fund(c, live_server, amount="0.05")  # two minutes and a bit
        a = call(c, live_server, "c1")
        assert (a["allowed"], a["max_duration_s"], a["granted_until_s"]) == (True, 120, 60)
        assert ok(c.post(f"{calls}/c1/usage", json={"used_s": 60}))["continue"] is True
        stop = ok(c.post(f"{calls}/c1/usage", json={"used_s": 120}))
        assert (stop["continue"], stop["granted_until_s"], stop["charged"]) == (False, 120, "0.042")
        end = ok(c.post(f"{calls}/c1/end", json={"duration_s": 120}))
        assert (end["charge"], end["balance"]) == ("0.042", "0.008")
        refused = call(c, live_server, "c2")
        assert (refused["allowed"], refused["reason"]) == (False, "insufficient_credit")
        assert call(c, live_server, "free", US_PEER)["allowed"] is True  # calls inside the US are free
        bal = account(c, live_server)
        assert (bal["balance"], bal["holds"]) == ("0.008", "0.00")


@pytest.mark.parametrize(
    ("frm", "to", "kind", "reason"),
    [
        (US_LINE_2, UK_MOBILE, "voice", "international_calling_disabled"),
        (US_LINE, "911", "voice", "emergency_number"),
        (US_LINE, "+870772001234", "voice", "destination_blocked"),
        (US_LINE, UK_MOBILE, "sms", "sms_to_another_country"),
        (NOT_OURS, UK_MOBILE, "voice", "not_a_line_of_the_account"),
        (US_LINE, "+12125550100", "sms", None),
    ],
)
def test_refusals_carry_a_reason_and_hold_nothing(
    live_server: LiveServer, frm: str, to: str, kind: str, reason: str | None
) -> None:
    with client(live_server) as c:
        fund(c, live_server)
        ok(c.post(path(live_server, "acme", "/numbers"), json={"phone_number": US_LINE_2}), 201)
        answer = call(c, live_server, "c1", to, frm, kind=kind)
        assert (answer["allowed"], answer["reason"]) == (reason is None, reason)
        if reason is None:
            return
        assert (answer["granted_until_s"], answer["max_duration_s"]) == (0, 0)
        bal = account(c, live_server)
        assert (bal["balance"], bal["holds"]) == ("10.00", "0.00")
        h = history(c, live_server)["c1"]
        assert (h["status"], h["reason"], h["charge"]) == ("refused", reason, "0.00")
        assert call(c, live_server, "c1", to, frm, kind=kind) == answer  # a replay: the same refusal


def test_a_call_without_credit_is_refused_but_a_free_one_is_not(live_server: LiveServer) -> None:
    with client(live_server) as c:
        ok(c.post(path(live_server, "acme", "/numbers"), json={"phone_number": US_LINE}), 201)
        ok(c.patch(path(live_server, "acme", f"/numbers/{US_LINE}"), json={"international_calling": True}))
        refused = call(c, live_server, "c1")
        assert (refused["allowed"], refused["reason"]) == (False, "insufficient_credit")
        free = call(c, live_server, "c2", US_PEER)
        assert (free["allowed"], free["free"], free["max_duration_s"]) == (True, True, 4 * 3600)
        end = ok(c.post(path(live_server, "acme", "/calls/c2/end"), json={"duration_s": 600}))
        assert (end["charge"], end["balance"]) == ("0.00", "0.00")
        sms = call(c, live_server, "s1", US_PEER, kind="sms")
        assert (sms["allowed"], sms["reason"]) == (False, "insufficient_credit")


def test_an_sms_is_charged_per_message_at_authorisation(live_server: LiveServer) -> None:
    with client(live_server) as c:
        fund(c, live_server)
        sms = call(c, live_server, "s1", US_PEER, kind="sms")
        assert (sms["allowed"], sms["rate"], sms["max_duration_s"], sms["granted_until_s"]) == (True, "0.0079", 0, 0)
        bal = account(c, live_server)
        assert (bal["balance"], bal["holds"]) == ("9.9921", "0.00")  # charged at once, nothing held
        assert call(c, live_server, "s1", US_PEER, kind="sms")["allowed"] is True
        end = ok(c.post(path(live_server, "acme", "/calls/s1/end"), json={"duration_s": 0}))
        assert (end["charge"], end["balance"]) == ("0.0079", "9.9921")  # replay and end: charged once
        h = history(c, live_server)["s1"]
        assert (h["kind"], h["status"], h["charge"], h["rate"]) == ("sms", "ended", "0.0079", "0.0079")
        assert account(c, live_server)["balance"] == "9.9921"


def test_an_inbound_call_is_priced_from_the_inbound_prices(live_server: LiveServer) -> None:
    """Inbound to a US local number: 0.0040 a minute, 6/6, whatever international calling says."""
    with client(live_server) as c:
        fund(c, live_server, international=False)
        auth = call(c, live_server, "in-1", US_LINE, UK_MOBILE, direction="inbound")
        assert (auth["allowed"], auth["rate"], auth["granted_until_s"]) == (True, "0.0040", 60)
        end = ok(c.post(path(live_server, "acme", "/calls/in-1/end"), json={"duration_s": 95}))
        assert (end["charge"], end["billed_s"], end["balance"]) == ("0.0064", 96, "9.9936")
        h = history(c, live_server)["in-1"]
        assert (h["direction"], h["from"], h["to"]) == ("inbound", UK_MOBILE, US_LINE)
        assert (h["matched_prefix"], h["friendly_name"], h["increments"]) == ("local", "inbound US local", "6/6")
        # inbound to a number that is not the account's is refused
        other = call(c, live_server, "in-2", NOT_OURS, UK_MOBILE, direction="inbound")
        assert (other["allowed"], other["reason"]) == (False, "not_a_line_of_the_account")


def test_voicemail_is_billed_as_connected_even_when_unanswered(live_server: LiveServer) -> None:
    calls = path(live_server, "acme", "/calls")
    with client(live_server) as c:
        fund(c, live_server)
        assert call(c, live_server, "vm", kind="voicemail")["allowed"] is True
        vm = ok(c.post(f"{calls}/vm/end", json={"duration_s": 30, "answered": False}))
        assert (vm["charge"], vm["billed_s"]) == ("0.021", 60)
        assert call(c, live_server, "no-answer")["allowed"] is True
        missed = ok(c.post(f"{calls}/no-answer/end", json={"duration_s": 30, "answered": False}))
        assert (missed["charge"], missed["billed_s"]) == ("0.00", 0)  # a voice call nobody answered is free
        bal = account(c, live_server)
        assert (bal["balance"], bal["holds"]) == ("9.979", "0.00")
        h = history(c, live_server)
        assert (h["vm"]["answered"], h["vm"]["charge"], h["vm"]["billed_s"]) == (True, "0.021", 60)
        assert (h["no-answer"]["answered"], h["no-answer"]["charge"]) == (False, "0.00")


def test_call_history_shows_the_exact_charge_rate_prefix_and_fx_rate(live_server: LiveServer) -> None:
    calls = path(live_server, "acme", "/calls")
    with client(live_server) as c:
        fund(c, live_server)
        call(c, live_server, "c1")
        ok(c.post(f"{calls}/c1/end", json={"duration_s": 61}))
        call(c, live_server, "c2", US_PEER)
        ok(c.post(f"{calls}/c2/end", json={"duration_s": 30}))
        h = history(c, live_server)
        c1 = h["c1"]
        assert {k: c1[k] for k in c1 if k not in ("created_at", "ended_at")} == {
            "call_id": "c1",
            "from": US_LINE,
            "to": UK_MOBILE,
            "direction": "outbound",
            "kind": "voice",
            "status": "ended",
            "reason": None,
            "charge": "0.042",
            "currency": "USD",
            "rate": "0.0210",
            "rate_currency": "USD",
            "fx_rate": "1",
            "increments": "60/60",
            "connection_fee": "0",
            "matched_prefix": "447",
            "friendly_name": "UK - Mobile",
            "deck": "demo-international@2026-01-01",
            "free": False,
            "duration_s": 61,
            "billed_s": 120,
            "answered": True,
        }
        assert c1["ended_at"] is not None
        assert (h["c2"]["free"], h["c2"]["charge"], Decimal(h["c2"]["rate"])) == (True, "0.00", 0)
        assert [x["call_id"] for x in ok(c.get(calls, params={"limit": 1}))["calls"]] in (["c1"], ["c2"])
        assert c.get(calls, params={"limit": 0}).status_code == 400


def test_an_eur_account_is_charged_in_eur_with_the_fx_rate_recorded(live_server: LiveServer) -> None:
    # the live server's clock is 2026-03-01, a Sunday: the ECB rate of Friday 2026-02-27 applies
    fx = Decimal(1) / ecb("2026-02-27", "USD")
    with client(live_server, "other") as c:
        fund(c, live_server, "other", line=OTHER_LINE)
        auth = call(c, live_server, "eu-1", frm=OTHER_LINE, who="other")
        # demo-discount prices UK numbers at a fixed 0.01 USD a minute
        assert (auth["allowed"], auth["rate"], auth["rate_currency"], auth["currency"]) == (True, "0.01", "USD", "EUR")
        end = ok(c.post(path(live_server, "other", "/calls/eu-1/end"), json={"duration_s": 95}))
        expected = (Decimal("0.02") * fx).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
        assert (Decimal(end["charge"]), end["currency"], end["billed_s"]) == (expected, "EUR", 120)
        assert Decimal(end["balance"]) == Decimal("10.00") - expected
        h = history(c, live_server, "other")["eu-1"]
        assert (h["currency"], h["rate"], h["rate_currency"]) == ("EUR", "0.01", "USD")
        assert Decimal(h["fx_rate"]) == fx
        assert Decimal(h["charge"]) == expected
        assert Decimal(account(c, live_server, "other")["balance"]) == Decimal("10.00") - expected


# -- who may act on which account -------------------------------------------------------------


def test_an_account_cannot_read_or_charge_another_tree(live_server: LiveServer) -> None:
    with client(live_server, "other") as c:
        fund(c, live_server, "other", line=OTHER_LINE)
        call(c, live_server, "eu-1", frm=OTHER_LINE, who="other")
    with client(live_server) as c:
        for method, rest, body in [
            ("GET", "", None),
            ("PATCH", "", {"billing_address": "x"}),
            ("GET", "/calls", None),
            ("GET", "/statement", None),
            ("GET", "/payments", None),
            ("GET", "/notifications", None),
            ("GET", "/numbers", None),
            ("POST", "/numbers", {"phone_number": "+14155550188"}),
            ("POST", "/calls", {"call_id": "x1", "from": OTHER_LINE, "to": UK_MOBILE}),
            ("POST", "/calls/eu-1/usage", {"used_s": 60}),
            ("POST", "/calls/eu-1/end", {"duration_s": 600}),
            ("POST", "/blocks", {"destination": "GB"}),
        ]:
            r = c.request(method, path(live_server, "other", rest), json=body)
            assert r.status_code == 404, (method, rest, r.text)
        r = c.post(path(live_server, "other", "/topups"), json={"amount": "1.00"}, headers={"Idempotency-Key": "k"})
        assert r.status_code == 404, r.text
    with client(live_server, "other") as c:
        bal = account(c, live_server, "other")
        assert (bal["balance"], bal["billing_address"]) == ("10.00", "1 Main St, San Francisco")
        assert Decimal(bal["holds"]) > 0  # eu-1's first minute, still held
        assert history(c, live_server, "other")["eu-1"]["status"] == "active"


def test_a_parent_acts_on_its_sub_account_and_not_the_other_way_round(live_server: LiveServer) -> None:
    with client(live_server) as c:
        fund(c, live_server, "acme_sub", line=SUB_LINE)
        assert account(c, live_server, "acme_sub")["balance"] == "10.00"
        auth = call(c, live_server, "sub-1", frm=SUB_LINE, who="acme_sub")
        assert auth["allowed"] is True
        end = ok(c.post(path(live_server, "acme_sub", "/calls/sub-1/end"), json={"duration_s": 60}))
        assert (end["charge"], end["balance"]) == ("0.021", "9.979")
        # the sub-account's line is not a line of the parent's own account
        mixed = call(c, live_server, "mixed", frm=SUB_LINE)
        assert (mixed["allowed"], mixed["reason"]) == (False, "not_a_line_of_the_account")
        assert account(c, live_server)["balance"] == "0.00"
    with client(live_server, "acme_sub") as c:
        assert history(c, live_server, "acme_sub")["sub-1"]["charge"] == "0.021"
        for method, rest, body in [
            ("GET", "", None),
            ("PATCH", "", {"billing_address": "x"}),
            ("GET", "/calls", None),
            ("POST", "/calls", {"call_id": "up", "from": SUB_LINE, "to": UK_MOBILE}),
        ]:
            r = c.request(method, path(live_server, "acme", rest), json=body)
            assert r.status_code == 404, (method, rest, r.text)


def test_the_statement_explains_every_movement_of_the_credit_with_the_balance_after_it(
    live_server: LiveServer,
) -> None:
    with client(live_server) as c:
        fund(c, live_server)
        call(c, live_server, "s1")
        ok(c.post(path(live_server, "acme", "/calls/s1/end"), json={"duration_s": 95, "answered": True}))
        st = ok(c.get(path(live_server, "acme", "/statement")))
        now = account(c, live_server)
        assert (st["currency"], st["balance"], st["holds"], st["available"], st["next_before"]) == (
            "USD", now["balance"], now["holds"], now["available"], None)  # fmt: skip
        lines = [(e["kind"], e["amount"], e["held"], e["balance"], e["available"]) for e in st["entries"]]
        assert lines == [
            ("posted", "-0.021", "0.00", "9.958", "9.958"),  # 95 s is 2 minutes at 0.0210: the second
            ("post_pending", "-0.021", "-0.021", "9.979", "9.979"),  # the held first minute, charged
            ("pending", "0.00", "0.021", "10.00", "9.979"),  # the first minute held
            ("posted", "10.00", "0.00", "10.00", "10.00"),  # the top-up
        ]
        assert st["entries"][0]["reference"] == "call s1"
        page = ok(c.get(path(live_server, "acme", "/statement"), params={"limit": 1}))
        assert page["next_before"] == st["entries"][0]["id"]
        rest = ok(c.get(path(live_server, "acme", "/statement"), params={"before": page["next_before"]}))
        assert rest["entries"] == st["entries"][1:]
        assert sum(Decimal(e["amount"]) for e in st["entries"]) == Decimal(now["balance"])
        huge = c.get(path(live_server, "acme", "/statement"), params={"before": 2**63})
        assert huge.status_code == 400, huge.text
        bad = c.get(path(live_server, "acme", "/statement"), params={"limit": 0})
        assert (bad.status_code, bad.json()["message"]) == (400, "limit: Input should be greater than or equal to 1")


def test_payments_list_every_top_up_declined_ones_included_newest_first(
    live_server: LiveServer, payments: ScriptedPayments
) -> None:
    with client(live_server) as c:
        fund(c, live_server)  # 10.00, key fund-acme
        payments.decline_next()
        topups = path(live_server, "acme", "/topups")
        declined = ok(c.post(topups, json={"amount": "7.50"}, headers={"Idempotency-Key": "card-2"}))
        assert declined["status"] == "declined"
        ok(c.post(topups, json={"amount": "2.00"}, headers={"Idempotency-Key": "card-3"}))
        listed = ok(c.get(path(live_server, "acme", "/payments")))
        rows = [(p["idempotency_key"], p["amount"], p["status"], p["reason"]) for p in listed["payments"]]
        assert rows == [
            ("card-3", "2.00", "succeeded", None),
            ("card-2", "7.50", "declined", "card declined"),
            ("fund-acme", "10.00", "succeeded", None),
        ]
        assert listed["payments"][1]["transfer_id"] is None
        credit = ok(c.get(path(live_server, "acme", "/statement")))["entries"][0]
        assert (credit["id"], credit["amount"]) == (listed["payments"][0]["transfer_id"], "2.00")
        page = ok(c.get(path(live_server, "acme", "/payments"), params={"limit": 2}))
        rest = ok(c.get(path(live_server, "acme", "/payments"), params={"before": page["next_before"]}))
        assert page["payments"] + rest["payments"] == listed["payments"]
        assert rest["next_before"] is None
