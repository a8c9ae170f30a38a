"""`telebill serve`: the HTTP API started as a real server process answers like the CLI.

The native API is account-scoped: callers authenticate with HTTP Basic (account SID and auth
token, from `telebill accounts create --json`) and are priced under their account's plan.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from e2e_cli import DEMO_AT, TELEBILL, Telebill, parse_json_lines

HOST = "127.0.0.1"
STARTUP_TIMEOUT_S = 20.0

AT = DEMO_AT[1]
NEW_YORK = "+12125550123"
UK_MOBILE = "+447700900123"
BERLIN = "+4930123456"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    def wait_until_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"telebill serve exited {self.process.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=2).json() == {"status": "ok"}:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"telebill serve not healthy after {STARTUP_TIMEOUT_S} s:\n{self.output()}")
            time.sleep(0.1)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@contextmanager
def serving(cli: Telebill, log: Path) -> Iterator[Server]:
    """Start `telebill serve` on a free loopback port; it is always terminated on the way out."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(TELEBILL), "serve", "--host", HOST, "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=cli.env,
            cwd=cli.cwd,
        )
        try:
            yield Server(process, f"http://{HOST}:{port}", log)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def all_rates(api: httpx.Client, line: str) -> list[dict[str, Any]]:
    """Every page of `GET /v1/rates?line=LINE`."""
    rates: list[dict[str, Any]] = []
    page = 0
    while True:
        r = api.get("/v1/rates", params={"line": line, "page_size": 1000, "page": page, "at": AT})
        assert r.status_code == 200, r.text
        body = r.json()
        rates += body["rates"]
        if len(rates) >= body["total"] or not body["rates"]:
            return rates
        page += 1


def test_the_served_api_quotes_and_prices_like_the_cli_for_an_account_on_the_demo_plan(
    demo: Telebill, tmp_path: Path
) -> None:
    with serving(demo, tmp_path / "serve.log") as server:
        # the CLI work overlaps the server's start
        created, planless, rated, priced = demo.run_all(
            ("accounts", "create", "--name", "e2e", "--currency", "USD", "--plan", "demo", "--json"),
            ("accounts", "create", "--name", "planless", "--currency", "USD", "--json"),
            ("rate", "--from", NEW_YORK, "--to", UK_MOBILE, "--seconds", "61", "--plan", "demo", *DEMO_AT, "--json"),
            ("price", UK_MOBILE, BERLIN, "--from", NEW_YORK, "--plan", "demo", *DEMO_AT, "--json"),
        )
        (account,) = parse_json_lines(created.stdout)
        (no_plan,) = parse_json_lines(planless.stdout)
        server.wait_until_healthy()

        anonymous = httpx.get(
            f"{server.base_url}/v1/quote", params={"from": NEW_YORK, "to": UK_MOBILE, "seconds": 61, "at": AT}
        )
        auth = (account["sid"], account["auth_token"])
        with httpx.Client(base_url=server.base_url, auth=auth, timeout=10) as api:
            quoted = api.get("/v1/quote", params={"from": NEW_YORK, "to": UK_MOBILE, "seconds": 61, "at": AT})
            from_new_york = all_rates(api, NEW_YORK)
        missing_plan = httpx.get(
            f"{server.base_url}/v1/quote",
            params={"from": NEW_YORK, "to": UK_MOBILE, "seconds": 61, "at": AT},
            auth=(no_plan["sid"], no_plan["auth_token"]),
        )

    assert anonymous.status_code == 401
    # the quote is the CLI's `rate --json`, plus the currency conversion it went through
    assert quoted.status_code == 200, quoted.text
    (cli_charge,) = parse_json_lines(rated.stdout)
    body = quoted.json()
    assert body["charge"] == cli_charge["charge"]
    assert {key: body.get(key) for key in cli_charge} == cli_charge
    assert (body["fx_rate"], body["plan_currency"]) == ("1", "USD")
    # the rate list of a line prices each prefix like the CLI's `price --json` from that line
    rates = {(r["prefix"], r["origin"]): r for r in from_new_york}
    for expected in parse_json_lines(priced.stdout):
        rate = rates[expected["matched_prefix"], expected["origin_selector"]]
        for key in ("friendly_name", "current_price", "base_price", "increments", "free", "blocked"):
            assert rate[key] == expected[key], (expected["destination"], key)
        assert rate["price_unit"] == expected["currency"]
    # an account without a price plan
    assert missing_plan.status_code == 404, missing_plan.text
    assert "no price plan" in missing_plan.json()["message"]
