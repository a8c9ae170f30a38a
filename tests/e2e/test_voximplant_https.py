"""The official Voximplant SDK, unpatched, against `telebill serve` over HTTPS: only the
endpoint and the CA bundle (REQUESTS_CA_BUNDLE, which the SDK honours) change."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tests.tls import self_signed

TELEBILL = str(Path(sys.executable).with_name("telebill"))


# The SDK hands httpx the CA bundle path (REQUESTS_CA_BUNDLE) as a string, which httpx 0.28
# deprecates; that warning is the SDK's, not ours.
@pytest.mark.filterwarnings("ignore:`verify=<str>` is deprecated:DeprecationWarning")
def test_the_unpatched_voximplant_sdk_works_against_telebill_serve_over_https(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voximplant.apiclient import VoximplantAPI

    env = {**os.environ, "TELEBILL_DATABASE_URL": database_url}

    def cli(*args: str) -> str:
        done = subprocess.run([TELEBILL, *args], env=env, capture_output=True, text=True, timeout=120, check=True)
        return done.stdout

    cli("db", "upgrade")
    cli("demo")
    sid = json.loads(cli("accounts", "create", "--name", "vox", "--currency", "USD", "--plan", "demo", "--json"))["sid"]
    credentials = tmp_path / "vox.json"
    cli("keys", "create", "--account", sid, "--role", "admin", "--kind", "jwt", "--out", str(credentials), "--json")
    cert, key = self_signed(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [TELEBILL, "serve", "--port", str(port), "--ssl-certfile", str(cert), "--ssl-keyfile", str(key)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    trust = ssl.create_default_context(cafile=str(cert))
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"https://127.0.0.1:{port}/healthz", verify=trust).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not start in time"
            assert server.poll() is None, "server exited"
            time.sleep(0.2)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
        api = VoximplantAPI(credentials_file_path=str(credentials), endpoint=f"127.0.0.1:{port}")
        info = api.get_account_info()["result"]
        assert info["account_name"] == "vox"
        prices = api.get_resource_price(resource_type="PSTN_INTERNATIONAL", resource_param="447400123456")
        groups = prices["result"][0]["price_groups"]
        assert groups
        assert groups[0]["params"]["requested"] == ["447400123456"]
    finally:
        server.terminate()
        server.wait(timeout=10)
