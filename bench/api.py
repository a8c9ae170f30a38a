"""`make bench` (API part): /v2/Voice/Numbers on a 100k-prefix deck against the app's no-op
endpoint, one uvicorn worker, 10 concurrent keep-alive connections from wrk.

The server is pinned to one core and wrk to the other, so each figure is the server's
throughput on one core. Targets: >= 50 % of the no-op's requests/s, p99 <= 20 ms.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from telebill.adapters.clock import FrozenClock
from telebill.adapters.importers.formats import read_deck
from telebill.bootstrap import bootstrap
from telebill.config import Settings
from telebill.domain.catalog.plans import ConditionKind, PricePlan, Tier
from telebill.domain.money import currency

DURATION_S = 10
CONNECTIONS = 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing wrk (Debian package) for the HTTP load", file=sys.stderr)
        subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)
        found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is needed for the API benchmark (apt-get install wrk)")
    return found


def pinned(cpu: int, argv: list[str]) -> list[str]:
    return ["taskset", "-c", str(cpu), *argv] if shutil.which("taskset") and os.cpu_count() else argv


def wrk(binary: str, url: str, headers: dict[str, str], script: Path | None) -> tuple[float, float]:
    argv = [binary, "-t1", f"-c{CONNECTIONS}", f"-d{DURATION_S}s", "--latency"]
    for k, v in headers.items():
        argv += ["-H", f"{k}: {v}"]
    if script:
        argv += ["-s", str(script)]
    out = subprocess.run(pinned(1, [*argv, url]), capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    assert p99, out
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{url}: {errors.group(1)} error responses\n{out}")
    return rps, float(p99.group(1)) * scale


def main(deck_csv: Path | None = None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        url = f"sqlite:///{work / 'api.db'}"
        if deck_csv is None:
            sys.path.insert(0, str(Path(__file__).parent))
            from run import synthetic_prefixes, write_deck

            deck_csv = work / "deck.csv"
            write_deck(deck_csv, synthetic_prefixes(100_000, 3), 5)
        c = bootstrap(Settings(database_url=url), FrozenClock(datetime(2026, 1, 1, tzinfo=UTC)))
        c.migrate()
        c.catalog.import_deck("bench", currency("USD"), read_deck(deck_csv, None), str(deck_csv))
        c.catalog.create_plan(PricePlan("bench", (Tier(ConditionKind.ALWAYS, "bench"),)))
        account = c.accounts.create_account("bench", currency("USD"), "bench")
        numbers = [f"+{p}{'1234567'[: 12 - len(p)]}" for p in ["447400", "3361", "4930", "1212", "8613"]]
        c.close()

        port = free_port()
        env = {**os.environ, "TELEBILL_DATABASE_URL": url}
        server = subprocess.Popen(
            pinned(0, [str(Path(sys.executable).with_name("telebill")), "serve", "--port", str(port)]),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(work / "server.log").open("w"),
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{base}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("server did not start:\n" + (work / "server.log").read_text()[-2000:])
                time.sleep(0.1)
            token = base64.b64encode(f"{account.account.sid}:{account.auth_token}".encode()).decode()
            auth = {"Authorization": f"Basic {token}"}
            for n in numbers:  # warm: loads the deck and builds its index once
                r = httpx.get(
                    f"{base}/v2/Voice/Numbers/{n}", params={"OriginationNumber": "+14155550100"}, headers=auth
                )
                r.raise_for_status()
            script = work / "numbers.lua"
            paths = [f"/v2/Voice/Numbers/{n}?OriginationNumber=%2B14155550100" for n in numbers]
            script.write_text(
                "paths = {" + ",".join(f'"{p}"' for p in paths) + "}\n"
                "i = 0\nrequest = function()\n  i = i % #paths + 1\n"
                "  return wrk.format(nil, paths[i])\nend\n"
            )
            binary = ensure_wrk()
            noop_rps, noop_p99 = wrk(binary, f"{base}/healthz", {}, None)
            num_rps, num_p99 = wrk(binary, f"{base}/", auth, script)
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(f"{'API /v2/Voice/Numbers, 100k deck':<38} {num_rps:>10.0f} req/s   no-op {noop_rps:>8.0f} req/s"
          f"   {num_rps / noop_rps:>6.0%} of no-op   target >= 50%")  # fmt: skip
    print(f"{'  p99 latency at 10 connections':<38} {num_p99:>10.1f} ms      no-op {noop_p99:>8.1f} ms"
          f"                   target <= 20 ms")  # fmt: skip


if __name__ == "__main__":
    main()
