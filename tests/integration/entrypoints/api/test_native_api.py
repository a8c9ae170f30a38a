from __future__ import annotations

from decimal import Decimal

import httpx
from tests.conftest import LiveServer


def client(server: LiveServer, who: str = "acme") -> httpx.Client:
    creds = server.accounts[who]
    return httpx.Client(base_url=server.base_url, auth=(creds.sid, creds.token), timeout=10)


def test_health_needs_no_credentials(live_server: LiveServer) -> None:
    r = httpx.get(f"{live_server.base_url}/healthz")
    assert r.json() == {"status": "ok"}
    assert r.headers["x-request-id"]


def test_a_wrong_token_is_refused_with_401(live_server: LiveServer) -> None:
    sid = live_server.accounts["acme"].sid
    r = httpx.get(f"{live_server.base_url}/v1/account", auth=(sid, "0" * 32))
    assert r.status_code == 401
    assert r.json()["error"] == "Unauthenticated"
    assert httpx.get(f"{live_server.base_url}/v1/account").status_code == 401


def test_an_account_sees_itself_and_its_sub_accounts_only(live_server: LiveServer) -> None:
    with client(live_server) as c:
        sids = {a["sid"] for a in c.get("/v1/account").json()["accounts"]}
    assert sids == {live_server.accounts["acme"].sid, live_server.accounts["acme_sub"].sid}
    with client(live_server, "acme_sub") as c:
        sids = {a["sid"] for a in c.get("/v1/account").json()["accounts"]}
    assert sids == {live_server.accounts["acme_sub"].sid}


def test_quote_prices_a_call_under_the_accounts_plan(live_server: LiveServer) -> None:
    with client(live_server) as c:
        r = c.get("/v1/quote", params={"from": "+33612345678", "to": "+4930123456", "seconds": 95})
    body = r.json()
    assert r.status_code == 200, body
    assert body["currency"] == "USD"
    assert body["billed_s"] == 120
    assert body["deck"].startswith("demo-eea")
    assert Decimal(body["charge"]) == Decimal(body["rate"]) * 2


def test_quote_converts_to_the_accounts_currency_with_the_ecb_rate(live_server: LiveServer) -> None:
    with client(live_server, "other") as c:
        body = c.get("/v1/quote", params={"from": "+14155550100", "to": "+81312345678", "seconds": 60}).json()
    assert body["currency"] == "EUR"
    assert body["plan_currency"] == "USD"
    # the demo clock is 2026-03-01, a Sunday: the rate of Friday 2026-02-27 applies
    usd_per_eur = Decimal(_ecb("2026-02-27", "USD"))
    assert Decimal(body["fx_rate"]) == Decimal(1) / usd_per_eur


def test_blocked_destinations_are_refused(live_server: LiveServer) -> None:
    with client(live_server) as c:
        r = c.get("/v1/quote", params={"from": "+14155550100", "to": "+870772001234", "seconds": 60})
    assert r.status_code == 403
    assert "blocked" in r.json()["message"]


def test_destination_search_by_name_and_by_prefix(live_server: LiveServer) -> None:
    with client(live_server) as c:
        by_name = c.get("/v1/destinations", params={"q": "germany"}).json()["destinations"]
        by_prefix = c.get("/v1/destinations", params={"q": "+4915"}).json()["destinations"]
    assert by_name
    assert all("germany" in d["friendly_name"].lower() for d in by_name)
    assert by_prefix
    assert all(d["prefix"].startswith("4915") for d in by_prefix)


def test_rates_of_a_line_are_paged_and_mark_free_and_blocked(live_server: LiveServer) -> None:
    with client(live_server) as c:
        first = c.get("/v1/rates", params={"line": "+14155550100", "page_size": 1000}).json()
        seen = list(first["rates"])
        page = 1
        while len(seen) < first["total"]:
            more = c.get("/v1/rates", params={"line": "+14155550100", "page_size": 1000, "page": page}).json()
            seen += more["rates"]
            page += 1
    assert len(seen) == first["total"]
    assert any(r["blocked"] for r in seen)
    assert any(r["free"] for r in seen)
    assert len({r["prefix"] for r in seen}) == len(seen)


def test_cheapest_line_compares_the_callers_lines(live_server: LiveServer) -> None:
    with client(live_server) as c:
        body = c.get(
            "/v1/cheapest-line",
            params={"to": "+447400123456", "lines": ["+14155550100", "+33612345678"]},
        ).json()
    prices = {o["line"]: Decimal(o["current_price"]) for o in body["options"]}
    assert body["cheapest"]["line"] == min(prices, key=lambda k: prices[k])


def test_bad_parameters_name_the_field(live_server: LiveServer) -> None:
    with client(live_server) as c:
        r = c.get("/v1/quote", params={"from": "+33612345678", "to": "+4930123456", "seconds": -1})
    assert r.status_code == 400
    assert "seconds" in r.json()["message"]


def _ecb(day: str, code: str) -> str:
    import csv
    from importlib.resources import files

    text = (files("telebill") / "data" / "ecb-eurofxref.csv").read_text(encoding="utf-8")
    for row in csv.DictReader(text.splitlines()):
        if row["Date"] == day:
            return row[code]
    raise AssertionError(day)
