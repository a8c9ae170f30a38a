"""Stress: 200 concurrent calls on one prepaid account through a real `telebill serve` process.

The account (USD, plan demo, policy cut_off) has credit for 50 minutes of calls to a UK
mobile from its US line (0.0210 a minute, billed 60/60), far less than the calls want. Each
simulated call does what a switch does: authorise, report usage every 60 s of simulated time
up to a random duration of 0..600 s, and end; it honours `allowed: false` (the call is not
placed) and `continue: false` (the call is cut at `granted_until_s`), and never talks past
the time it was granted. Every request may be sent two or three times, at once or one after
the other, and some are sent again later (a retry that arrives after the answer was used).
Transport errors are retried until an answer comes.

Checked: the balance polled during the run never goes below zero; the answers to one request
agree; every call that was allowed is ended exactly once with the charge of the duration it
ended at (computed here from 0.0210/min, 60/60); the charges in the call history add up to
the account's debit (initial credit less final balance) and no hold is left; `telebill
ledger verify` exits 0. On PostgreSQL a second run SIGKILLs the server twice mid-run and
restarts it on the same port: the same must hold.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from telebill.bootstrap import Container
from telebill.domain.accounts import Principal, Role
from telebill.domain.money import currency

TELEBILL = Path(sys.executable).with_name("telebill")
HOST = "127.0.0.1"
US_LINE = "+14155550100"
UK_MOBILE = "+447400123456"
MINUTE = Decimal("0.0210")  # USD a minute to a UK mobile from a US line, billed 60/60
CREDIT = Decimal("1.05")  # 50 minutes
CALLS = 200
CONNECTIONS = 50
INTERVAL_S = 60
MAX_DURATION_S = 600
UNANSWERED = 0.1  # share of calls nobody picks up
SEED = 20260301

RUN_BUDGET_S = 60.0  # every loop below stops by then
ATTEMPTS = 400  # per request, across transport errors and retryable conflicts
STARTUP_S = 30.0
KILL_AFTER_ANSWERS = (80, 200)  # the killing run: SIGKILL once this many answers came back


# -- the server process -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    """`telebill serve` as a child process; restarted on the same port after a kill."""

    env: dict[str, str]
    cwd: Path
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        assert self.process is None
        with self.log.open("a", encoding="utf-8") as log:
            log.write(f"--- start {self.starts + 1}\n")
            log.flush()
            self.process = subprocess.Popen(
                [str(TELEBILL), "serve", "--host", HOST, "--port", str(self.port)],
                env=self.env,
                cwd=self.cwd,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        self.starts += 1
        deadline = time.monotonic() + STARTUP_S
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"telebill serve exited {self.process.returncode}:\n{self.tail()}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"telebill serve not healthy after {STARTUP_S} s:\n{self.tail()}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown, in-flight requests and transactions are cut off."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def tail(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-4000:]


# -- setup ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    database_url: str
    sid: str
    token: str


@pytest.fixture(scope="session")
def subprocess_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of the server and CLI processes (bytecode cached outside src/)."""
    env = dict(os.environ)
    env.pop("TELEBILL_TEST_DATABASE_URL", None)
    if env.pop("PYTHONDONTWRITEBYTECODE", None) is not None:
        env["PYTHONPYCACHEPREFIX"] = str(tmp_path_factory.mktemp("pycache"))
    return env


@pytest.fixture
def funded(demo_container: Container, database_url: str) -> Setup:
    """The migrated database with the demo catalog (`db upgrade` + `demo`), one USD account
    with a billing address, 50 minutes of credit, and a line with international calling on."""
    c = demo_container
    new = c.accounts.create_account("stress", currency("USD"), "demo")
    acct = new.account
    c.credits.update_settings(acct, {"billing_address": "1 Main St, San Francisco"})
    c.lines.add(acct, US_LINE)
    c.lines.set_international(Principal(acct, Role.ADMIN), acct, US_LINE, True)
    assert c.credits.top_up(acct, str(CREDIT), "stress-credit").payment_status == "succeeded"
    c.close()  # the server process owns the database from here
    return Setup(database_url, acct.sid, new.auth_token)


# -- the load ---------------------------------------------------------------------------------


def cost(duration_s: int, answered: bool) -> Decimal:
    """What a call of `duration_s` costs at 0.0210 a minute, 60/60."""
    if not answered or duration_s <= 0:
        return Decimal(0)
    return -(-duration_s // 60) * MINUTE


@dataclass
class Stats:
    answers: int = 0
    sends: int = 0
    duplicates: int = 0
    late: int = 0
    transport_errors: int = 0
    retryable_conflicts: int = 0
    polls: int = 0
    min_balance: Decimal | None = None
    min_available: Decimal | None = None
    kills: int = 0

    def polled(self, body: dict[str, Any]) -> None:
        balance, available = Decimal(body["balance"]), Decimal(body["available"])
        self.polls += 1
        self.min_balance = balance if self.min_balance is None else min(self.min_balance, balance)
        self.min_available = available if self.min_available is None else min(self.min_available, available)
        assert balance >= 0, f"balance {balance} below zero under cut_off"
        assert available >= 0, f"available {available} below zero under cut_off"


@dataclass
class Outcome:
    call_id: str
    allowed: bool = False
    reason: str | None = None
    answered: bool = True
    ended_s: int | None = None
    charge: Decimal | None = None
    reports: int = 0


@dataclass
class Load:
    client: httpx.AsyncClient
    base: str  # /v1/accounts/{sid}
    rng: random.Random
    deadline: float
    stats: Stats = field(default_factory=Stats)
    stragglers: list[asyncio.Task[None]] = field(default_factory=list)

    async def send(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST until an answer comes: transport errors (a dead or restarting server) and
        retryable conflicts are retried, bounded in attempts and time."""
        for attempt in range(ATTEMPTS):
            if time.monotonic() > self.deadline:
                break
            self.stats.sends += 1
            try:
                r = await self.client.post(self.base + path, json=body)
            except httpx.TransportError:
                self.stats.transport_errors += 1
                await asyncio.sleep(min(0.02 * (attempt + 1), 0.25))
                continue
            if r.status_code == 409 and r.json().get("error") == "RetryableConflict":
                self.stats.retryable_conflicts += 1
                await asyncio.sleep(0.01)
                continue
            assert r.status_code == 200, f"POST {path} {body}: {r.status_code} {r.text}"
            self.stats.answers += 1
            answer: dict[str, Any] = r.json()
            return answer
        raise AssertionError(f"POST {path} {body}: no answer within {ATTEMPTS} attempts / the run's budget")

    async def retried(
        self,
        path: str,
        body: dict[str, Any],
        same: Callable[[dict[str, Any]], object],
        late_check: Callable[[dict[str, Any], dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Send once, or two or three times (at once or one after the other); every answer
        must agree on `same`. Sometimes one more copy goes out later, unawaited."""
        copies = self.rng.choices((1, 2, 3), weights=(6, 3, 1))[0]
        self.stats.duplicates += copies - 1
        if copies > 1 and self.rng.random() < 0.5:
            answers = list(await asyncio.gather(*(self.send(path, body) for _ in range(copies))))
        else:
            answers = [await self.send(path, body) for _ in range(copies)]
        first = answers[0]
        assert all(same(a) == same(first) for a in answers), (path, body, answers)
        if self.rng.random() < 0.1:
            delay = self.rng.uniform(0, 0.3)
            check = late_check or (lambda original, late: None)
            self.stragglers.append(asyncio.create_task(self._late(path, body, first, delay, check)))
        return first

    async def _late(
        self,
        path: str,
        body: dict[str, Any],
        original: dict[str, Any],
        delay: float,
        check: Callable[[dict[str, Any], dict[str, Any]], None],
    ) -> None:
        await asyncio.sleep(delay)
        self.stats.late += 1
        check(original, await self.send(path, body))

    async def call(self, call_id: str) -> Outcome:
        """One call as a switch places it."""
        rng = self.rng
        out = Outcome(call_id, answered=rng.random() >= UNANSWERED)
        duration = rng.randint(0, MAX_DURATION_S)
        await asyncio.sleep(rng.uniform(0, 0.5))
        auth = await self.retried(
            "/calls",
            {"call_id": call_id, "from": US_LINE, "to": UK_MOBILE},
            lambda a: (a["allowed"], a["reason"], a["granted_until_s"], a["rate"], a["free"]),
            lambda first, late: _same(first, late, "allowed", "reason", "rate", "free"),
        )
        out.allowed, out.reason = auth["allowed"], auth["reason"]
        if not auth["allowed"]:
            return out
        assert (auth["rate"], auth["currency"], auth["free"]) == ("0.0210", "USD", False), auth
        granted, used = auth["granted_until_s"], 0
        stop = duration if out.answered else 0
        while out.answered and used + INTERVAL_S < stop and used + INTERVAL_S <= granted:
            await asyncio.sleep(rng.uniform(0, 0.01))
            used += INTERVAL_S
            usage = await self.retried(
                f"/calls/{call_id}/usage",
                {"used_s": used},
                lambda a: a,
                lambda first, late: _not_less(first, late, "charged"),
            )
            out.reports += 1
            assert Decimal(usage["charged"]) == cost(used, True), (call_id, used, usage)
            granted = usage["granted_until_s"]
            if not usage["continue"]:
                break
        ended = min(stop, granted) if out.answered else rng.randint(0, 30)  # cut at the grant
        end = await self.retried(
            f"/calls/{call_id}/end",
            {"duration_s": ended, "answered": out.answered},
            lambda a: (a["charge"], a["billed_s"], a["currency"]),
            lambda first, late: _same(first, late, "charge", "billed_s"),
        )
        out.ended_s, out.charge = ended, Decimal(end["charge"])
        assert out.charge == cost(ended, out.answered), (call_id, ended, out.answered, end)
        return out


def _same(first: dict[str, Any], late: dict[str, Any], *names: str) -> None:
    assert [late[n] for n in names] == [first[n] for n in names], (first, late)


def _not_less(first: dict[str, Any], late: dict[str, Any], name: str) -> None:
    assert Decimal(late[name]) >= Decimal(first[name]), (first, late)


async def poll_balance(
    base_url: str, path: str, auth: tuple[str, str], stats: Stats, done: asyncio.Event, deadline: float
) -> None:
    """Read the balance over and over while the calls run (its own connection)."""
    async with httpx.AsyncClient(base_url=base_url, auth=auth, timeout=5) as client:
        while not done.is_set() and time.monotonic() < deadline:
            try:
                r = await client.get(path)
            except httpx.TransportError:
                await asyncio.sleep(0.05)
                continue
            assert r.status_code == 200, r.text
            stats.polled(r.json())
            await asyncio.sleep(0.02)


async def killer(server: Server, stats: Stats, kills: int, calls_done: asyncio.Event, deadline: float) -> None:
    for threshold in KILL_AFTER_ANSWERS[:kills]:
        while stats.answers < threshold:
            assert not calls_done.is_set(), f"the calls were over before {threshold} answers"
            assert time.monotonic() < deadline, f"no {threshold} answers within the run's budget"
            await asyncio.sleep(0.005)
        await asyncio.to_thread(server.kill)
        stats.kills += 1
        await asyncio.sleep(0.3)  # requests meanwhile find nobody listening
        await asyncio.to_thread(server.start)


async def run_load(server: Server, setup: Setup, kills: int) -> tuple[list[Outcome], Stats]:
    rng = random.Random(SEED)
    deadline = time.monotonic() + RUN_BUDGET_S
    auth = (setup.sid, setup.token)
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    timeout = httpx.Timeout(15.0, pool=RUN_BUDGET_S)
    async with httpx.AsyncClient(base_url=server.base_url, auth=auth, limits=limits, timeout=timeout) as client:
        load = Load(client, f"/v1/accounts/{setup.sid}", rng, deadline)
        done = asyncio.Event()
        side = [asyncio.create_task(poll_balance(server.base_url, load.base, auth, load.stats, done, deadline))]
        if kills:
            side.append(asyncio.create_task(killer(server, load.stats, kills, done, deadline)))
        try:
            calls = asyncio.gather(*(load.call(f"call-{i:03d}") for i in range(CALLS)))
            outcomes = await asyncio.wait_for(calls, RUN_BUDGET_S)
            await asyncio.wait_for(asyncio.gather(*load.stragglers), RUN_BUDGET_S)
        finally:
            done.set()
            finished = await asyncio.wait_for(asyncio.gather(*side, return_exceptions=True), RUN_BUDGET_S)
        for result in finished:
            if isinstance(result, BaseException):
                raise result
    return list(outcomes), load.stats


def check_run(server: Server, setup: Setup, env: dict[str, str], cwd: Path, kills: int) -> None:
    try:
        _check_run(server, setup, env, cwd, kills)
    except AssertionError:
        print(f"--- server log (tail)\n{server.tail()}")
        raise


def _check_run(server: Server, setup: Setup, env: dict[str, str], cwd: Path, kills: int) -> None:
    started = time.monotonic()
    server.start()
    try:
        outcomes, stats = asyncio.run(run_load(server, setup, kills))
        with httpx.Client(base_url=server.base_url, auth=(setup.sid, setup.token), timeout=30) as c:
            final = c.get(f"/v1/accounts/{setup.sid}").json()
            calls = c.get(f"/v1/accounts/{setup.sid}/calls", params={"limit": 1000}).json()["calls"]
    finally:
        server.stop()
    verify = subprocess.run(
        [str(TELEBILL), "ledger", "verify"], env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    print(
        f"\n{CALLS} calls in {time.monotonic() - started:.1f} s: {stats.answers} answers to {stats.sends} requests "
        f"({stats.duplicates} duplicates, {stats.late} late copies, {stats.transport_errors} transport errors, "
        f"{stats.retryable_conflicts} retryable conflicts, {stats.kills} kills); "
        f"{sum(o.allowed for o in outcomes)} allowed, {sum(o.reports for o in outcomes)} usage reports; "
        f"balance polled {stats.polls} times, lowest {stats.min_balance}, final {final['balance']}"
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "ledger OK" in verify.stdout
    assert stats.kills == kills
    assert stats.polls >= 5
    assert stats.min_balance is not None
    assert stats.min_balance >= 0

    # every call was seen by the server once, with the answer the client acted on
    by_id = {c["call_id"]: c for c in calls}
    assert set(by_id) == {o.call_id for o in outcomes}
    allowed = [o for o in outcomes if o.allowed]
    assert allowed, "no call was allowed"
    assert any(not o.allowed for o in outcomes), "credit for 50 minutes should not cover every call"
    for o in outcomes:
        row = by_id[o.call_id]
        if not o.allowed:
            assert (row["status"], row["reason"], row["charge"]) == ("refused", o.reason, "0.00"), row
            assert o.reason == "insufficient_credit", o
            continue
        # ended exactly once, at the duration the switch sent, charged cost(duration)
        assert o.ended_s is not None
        assert o.charge is not None
        assert (row["status"], row["duration_s"], row["answered"]) == ("ended", o.ended_s, o.answered), (o, row)
        assert Decimal(row["charge"]) == o.charge == cost(o.ended_s, o.answered), (o, row)
        assert (row["rate"], row["increments"], row["matched_prefix"]) == ("0.0210", "60/60", "447"), row

    # the money adds up: what the calls were charged is what left the account, nothing held
    charged = sum((Decimal(c["charge"]) for c in calls), Decimal(0))
    assert charged == sum((o.charge or Decimal(0) for o in outcomes), Decimal(0))
    assert (Decimal(final["holds"]), final["policy"]) == (0, "cut_off"), final
    assert CREDIT - Decimal(final["balance"]) == charged, (final, charged)
    assert Decimal(final["balance"]) >= 0
    assert charged > 0


@pytest.fixture
def server(funded: Setup, subprocess_env: dict[str, str], tmp_path: Path) -> Iterator[Server]:
    env = {**subprocess_env, "TELEBILL_DATABASE_URL": funded.database_url}
    srv = Server(env, tmp_path, free_port(), tmp_path / "server.log")
    try:
        yield srv
    finally:
        srv.stop()


def test_concurrent_retried_calls_never_overdraw_and_add_up(server: Server, funded: Setup, tmp_path: Path) -> None:
    check_run(server, funded, server.env, tmp_path, kills=0)


@pytest.mark.skipif(not os.environ.get("TELEBILL_TEST_DATABASE_URL"), reason="the killed-server run needs PostgreSQL")
def test_a_server_killed_mid_run_loses_and_doubles_nothing(server: Server, funded: Setup, tmp_path: Path) -> None:
    check_run(server, funded, server.env, tmp_path, kills=len(KILL_AFTER_ANSWERS))


@pytest.mark.skipif(not os.environ.get("TELEBILL_TEST_DATABASE_URL"), reason="SQLite's steps run on the loop anyway")
def test_steps_on_the_event_loop_never_overdraw_and_add_up(server: Server, funded: Setup, tmp_path: Path) -> None:
    server.env["TELEBILL_CHARGING_THREADS"] = "0"  # one step at a time, each blocking the loop on its round trips
    check_run(server, funded, server.env, tmp_path, kills=0)
