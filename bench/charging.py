"""`make bench` (charging part): real-time call charging through the HTTP API, on SQLite and on
PostgreSQL, against the app's no-op endpoint (/healthz) measured in the same run.

One uvicorn worker pinned to core 0, wrk pinned to core 1 with 10 concurrent keep-alive
connections for 10 s. A call is two requests on one prepaid account: authorise
(POST /v1/accounts/{sid}/calls, a fresh call id each time) and end (POST .../calls/{id}/end,
95 s answered: a UK mobile from a US line, 0.0210/min 60/60, charged 0.042). wrk's Lua script
sends a call's end only after its authorisation was answered: `response()` queues the call id,
the next `request()` on any connection sends that end before authorising a new call.

Before the measured run, the same calls go on for HISTORY_S seconds, and then (PostgreSQL)
`ANALYZE` gathers the tables' statistics, as autovacuum does within its first minute: the run
measures tables in service. On an empty database PostgreSQL plans the call and hold lookups
as sequential scans, and keeps those plans until its first ANALYZE (ADR 10). SQLite is not
analysed: the application never analyses it.

Figures: calls/s (ended calls per second), the p99 latency of the requests (authorise and end
alike, as wrk measures them), and the requests/s as a share of the no-op's.
Targets: >= 500 calls/s, p99 <= 25 ms.

PostgreSQL: with TELEBILL_TEST_DATABASE_URL set, that database is used (its `public` schema
is dropped and recreated, as the test suite does). Without it, the bench runs its PostgreSQL
part under scripts/with-postgres.sh, which starts a throwaway cluster (fsync and
synchronous_commit off, like the test run) and removes it afterwards. The cluster runs on
core 1 beside wrk, as a database server runs on a machine of its own: the server's core does
the application's work only. (SQLite runs inside the server, on its core.)
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).parent))
from api import ensure_wrk, free_port, pinned  # the API bench's helpers

from telebill.adapters.clock import SystemClock
from telebill.adapters.demo_loader import load_demo
from telebill.adapters.sql.engine import make_engine
from telebill.bootstrap import bootstrap
from telebill.config import Settings
from telebill.domain.accounts import Principal, Role
from telebill.domain.money import currency

DURATION_S = 10
HISTORY_S = 5  # calls made before the measured run, so that it runs on tables in service
CONNECTIONS = 10
TARGET_CALLS_PER_S = 500
TARGET_P99_MS = 25.0
LINE = "+14155550100"
UK_MOBILE = "+447400123456"
ROOT = Path(__file__).resolve().parent.parent

LUA = """
sid = "%(sid)s"
run = "%(run)s"
headers = {["Authorization"] = "%(auth)s", ["Content-Type"] = "application/json"}
calls = "/v1/accounts/" .. sid .. "/calls"
n = 0
pending = {}
authorised, ended, refused, failed = 0, 0, 0, 0

request = function()
  local id = table.remove(pending)
  if id then
    return wrk.format("POST", calls .. "/" .. id .. "/end", headers, '{"duration_s":95,"answered":true}')
  end
  n = n + 1
  local body = '{"call_id":"' .. run .. "-" .. n .. '","from":"%(line)s","to":"%(to)s"}'
  return wrk.format("POST", calls, headers, body)
end

response = function(status, hdrs, body)
  if status ~= 200 then
    failed = failed + 1
  elseif body:find('"allowed":true', 1, true) then
    authorised = authorised + 1
    table.insert(pending, body:match('"call_id":"([^"]+)"'))
  elseif body:find('"allowed":false', 1, true) then
    refused = refused + 1
  elseif body:find('"charge":"0.042"', 1, true) then
    ended = ended + 1
  else
    failed = failed + 1
  end
end

threads = {}
setup = function(thread)
  table.insert(threads, thread)
end

done = function(summary, latency, requests)
  local a, e, r, f = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    a = a + t:get("authorised")
    e = e + t:get("ended")
    r = r + t:get("refused")
    f = f + t:get("failed")
  end
  io.write(string.format("CALLS authorised=%%d ended=%%d refused=%%d failed=%%d seconds=%%.3f\\n",
    a, e, r, f, summary.duration / 1e6))
end
"""


@dataclass(frozen=True)
class Figures:
    requests_per_s: float
    p99_ms: float
    calls_per_s: float = 0.0
    timeouts: int = 0  # requests wrk gave up on (no answer within its 2 s), not in the p99


def run_wrk(binary: str, url: str, script: Path | None, seconds: int = DURATION_S) -> tuple[Figures, str]:
    argv = [binary, "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency"]
    if script:
        argv += ["-s", str(script)]
    out = subprocess.run(pinned(1, [*argv, url]), capture_output=True, text=True, check=True).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    if not rps or not p99:
        raise SystemExit(f"unexpected wrk output:\n{out}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{url}: {errors.group(1)} error responses\n{out}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    timeouts = re.search(r"Socket errors: .*timeout (\d+)", out)
    return Figures(
        float(rps.group(1)), float(p99.group(1)) * scale, 0.0, int(timeouts.group(1)) if timeouts else 0
    ), out


def prepare(url: str) -> tuple[str, str]:
    """Schema, demo catalog, and one USD account with plenty of credit and an international line."""
    c = bootstrap(Settings(database_url=url), SystemClock())
    try:
        c.migrate()
        for _ in load_demo(c.catalog, c.fx, datetime(2026, 1, 1, tzinfo=UTC)):
            pass
        new = c.accounts.create_account("bench", currency("USD"), "demo")
        acct = new.account
        c.credits.update_settings(acct, {"billing_address": "1 Main St, San Francisco"})
        c.lines.add(acct, LINE)
        c.lines.set_international(Principal(acct, Role.ADMIN), acct, LINE, True)
        c.credits.top_up(acct, "100000.00", "bench-credit")
    finally:
        c.close()
    return acct.sid, new.auth_token


def analyze(url: str) -> None:
    """PostgreSQL's table statistics for the history just written, as autovacuum gathers them
    in a running database (within its first minute: `autovacuum_naptime`)."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()


def reset_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def measure(label: str, url: str, work: Path) -> tuple[Figures, Figures]:
    sid, token = prepare(url)
    port = free_port()
    env = {**os.environ, "TELEBILL_DATABASE_URL": url}
    log = (work / f"server-{label}.log").open("w")
    server = subprocess.Popen(
        pinned(0, [str(Path(sys.executable).with_name("telebill")), "serve", "--port", str(port)]),
        env=env,
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=log,
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
                raise SystemExit("server did not start:\n" + (work / f"server-{label}.log").read_text()[-2000:])
            time.sleep(0.1)
        auth = "Basic " + base64.b64encode(f"{sid}:{token}".encode()).decode()
        calls = f"{base}/v1/accounts/{sid}/calls"
        with httpx.Client(headers={"Authorization": auth}, timeout=30) as client:
            for i in range(20):  # warm: the price view, the ledger accounts, the code paths
                body = {"call_id": f"warm-{i}", "from": LINE, "to": UK_MOBILE}
                assert client.post(calls, json=body).json()["allowed"], "warm-up call refused"
                client.post(f"{calls}/warm-{i}/end", json={"duration_s": 95}).raise_for_status()
        binary = ensure_wrk()
        history = work / f"history-{label}.lua"
        history.write_text(LUA % {"sid": sid, "run": "history", "auth": auth, "line": LINE, "to": UK_MOBILE})
        _, made = run_wrk(binary, base, history, HISTORY_S)
        check_totals("history", made)
        if url.startswith("postgresql"):
            analyze(url)
        script = work / f"calls-{label}.lua"
        values = {"sid": sid, "run": secrets.token_hex(4), "auth": auth, "line": LINE, "to": UK_MOBILE}
        script.write_text(LUA % values)
        noop, _ = run_wrk(binary, f"{base}/healthz", None)
        figures, out = run_wrk(binary, base, script)
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
    ended, seconds = check_totals(label, out)
    return noop, Figures(figures.requests_per_s, figures.p99_ms, ended / seconds, figures.timeouts)


def check_totals(label: str, out: str) -> tuple[float, float]:
    """The calls ended and the seconds of a run of the Lua script; none refused or answered
    unexpectedly."""
    found = re.search(r"CALLS authorised=(\d+) ended=(\d+) refused=(\d+) failed=(\d+) seconds=([\d.]+)", out)
    if not found:
        raise SystemExit(f"the Lua script printed no totals:\n{out}")
    _, ended, refused, failed, seconds = (float(g) for g in found.groups())
    if refused or failed:
        raise SystemExit(f"{label}: {refused:.0f} calls refused, {failed:.0f} unexpected answers\n{out}")
    return ended, seconds


def report(label: str, noop: Figures, calls: Figures) -> None:
    title = f"API calls authorise+end, {label}"
    share = calls.requests_per_s / noop.requests_per_s
    print(f"{title:<38} {calls.calls_per_s:>10.0f} calls/s no-op {noop.requests_per_s:>8.0f} req/s"
          f"   {share:>6.0%} of no-op   target >= {TARGET_CALLS_PER_S} calls/s")  # fmt: skip
    print(f"{'  p99 latency at 10 connections':<38} {calls.p99_ms:>10.1f} ms      no-op {noop.p99_ms:>8.1f} ms"
          f"                   target <= {TARGET_P99_MS:.0f} ms")  # fmt: skip
    if calls.timeouts:
        print(f"  ({calls.timeouts} requests got no answer within wrk's 2 s timeout and are not in the p99)")


def main() -> None:
    postgres_only = sys.argv[1:] == ["--postgres"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if not postgres_only:
            report("SQLite", *measure("sqlite", f"sqlite:///{work / 'charging.db'}", work))
        url = os.environ.get("TELEBILL_TEST_DATABASE_URL")
        if postgres_only and not url:
            raise SystemExit("--postgres runs under scripts/with-postgres.sh (TELEBILL_TEST_DATABASE_URL unset)")
        if url:
            reset_postgres(url)
            report("PostgreSQL", *measure("postgres", url, work))
        else:
            sys.stdout.flush()
            with_postgres = [str(ROOT / "scripts" / "with-postgres.sh"), sys.executable, __file__, "--postgres"]
            subprocess.run(pinned(1, with_postgres), check=True)


if __name__ == "__main__":
    main()
