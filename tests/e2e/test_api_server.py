"""`telebill serve`: the HTTP API started as a real server process answers like the CLI."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import httpx
from e2e_cli import TELEBILL, Telebill, parse_json_lines

HOST = "127.0.0.1"
STARTUP_TIMEOUT_S = 20.0

NEW_YORK = "+12125550123"
UK_MOBILE = "+447700900123"
PARIS = "+33142278186"
BERLIN = "+4930123456"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def running_server(cli: Telebill, log: Path) -> Iterator[httpx.Client]:
    """`telebill serve` on a free loopback port; always terminated on the way out."""
    port = free_port()
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(TELEBILL), "serve", "--host", HOST, "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=cli.env,
            cwd=cli.cwd,
        )
        try:
            with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=10.0) as client:
                wait_until_healthy(client, server, log)
                yield client
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)


def wait_until_healthy(client: httpx.Client, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        if server.poll() is not None:
            raise AssertionError(
                f"telebill serve exited {server.returncode}:\n{log.read_text(errors='replace')}"
            )
        try:
            if client.get("/healthz").json() == {"status": "ok"}:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(
                f"telebill serve not healthy after {STARTUP_TIMEOUT_S} s:\n{log.read_text()}"
            )
        time.sleep(0.1)


def test_the_served_api_quotes_and_prices_exactly_like_the_cli(demo: Telebill, tmp_path: Path) -> None:
    rated, priced, decks = demo.run_all(
        ("rate", "--from", NEW_YORK, "--to", UK_MOBILE, "--seconds", "61", "--plan", "demo", "--json"),
        ("price", BERLIN, "--from", PARIS, "--plan", "demo", "--json"),
        ("decks", "list", "--json"),
    )
    (cli_charge,) = parse_json_lines(rated.stdout)
    (cli_price,) = parse_json_lines(priced.stdout)

    with running_server(demo, tmp_path / "serve.log") as api:
        quoted = api.get(
            "/v1/quote", params={"from": NEW_YORK, "to": UK_MOBILE, "seconds": 61, "plan": "demo"}
        )
        price = api.get(f"/v1/prices/{quote(BERLIN, safe='')}", params={"from": PARIS, "plan": "demo"})
        listed = api.get("/v1/decks")
        no_plan_price = api.get(f"/v1/prices/{quote(BERLIN, safe='')}", params={"plan": "no-such-plan"})
        no_plan_quote = api.get(
            "/v1/quote", params={"from": NEW_YORK, "to": UK_MOBILE, "seconds": 61, "plan": "no-such-plan"}
        )

    assert quoted.status_code == 200, quoted.text
    assert quoted.json()["charge"] == cli_charge["charge"]
    assert quoted.json() == cli_charge
    assert price.status_code == 200, price.text
    assert price.json()["current_price"] == cli_price["current_price"]
    assert price.json() == cli_price
    assert listed.status_code == 200, listed.text
    assert listed.json() == parse_json_lines(decks.stdout)
    for missing in (no_plan_price, no_plan_quote):
        assert missing.status_code == 404, missing.text
        assert "no-such-plan" in missing.json()["message"]
