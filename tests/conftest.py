"""Shared fixtures: a fresh, migrated database per test (SQLite file, or the PostgreSQL named
by TELEBILL_TEST_DATABASE_URL), a frozen clock, and a wired container. The container's payment
provider stands for a card processor (customers may add funds through it); a test of the
built-in manual provider asks for it by parametrizing `payments`."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import text

from telebill.adapters.clock import FrozenClock
from telebill.adapters.demo_loader import load_demo
from telebill.adapters.payments import ScriptedPayments
from telebill.adapters.sql.engine import make_engine
from telebill.bootstrap import Container, bootstrap
from telebill.config import Settings
from telebill.domain.money import currency
from telebill.service.provider_ports import PaymentProvider

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OPERATOR_TOKEN = "test-operator-token-" + os.urandom(8).hex()


def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    url = os.environ.get("TELEBILL_TEST_DATABASE_URL")
    if url:
        _reset_postgres(url)
        return url
    return f"sqlite:///{tmp_path / 'telebill.db'}"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def payments() -> PaymentProvider:
    return ScriptedPayments()


@pytest.fixture
def container(database_url: str, clock: FrozenClock, payments: PaymentProvider) -> Iterator[Container]:
    c = bootstrap(Settings(database_url=database_url, operator_token=OPERATOR_TOKEN), clock, payments)
    c.migrate()
    try:
        yield c
    finally:
        c.close()


@dataclass(frozen=True)
class Credentials:
    sid: str
    token: str


@dataclass
class LiveServer:
    """A real uvicorn server on 127.0.0.1 over the demo catalog, with three accounts:
    `acme` (USD, plan demo), its sub-account `acme_sub` (USD, plan demo) and `other`
    (EUR, plan demo-discount), each with its auth token."""

    base_url: str
    container: Container
    accounts: dict[str, Credentials]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def demo_container(container: Container) -> Container:
    for _ in load_demo(container.catalog, container.fx, datetime(2026, 1, 1, tzinfo=UTC)):
        pass
    return container


@pytest.fixture
def live_server(demo_container: Container) -> Iterator[LiveServer]:
    from telebill.entrypoints.api.app import create_app

    c = demo_container
    acme = c.accounts.create_account("acme", currency("USD"), "demo")
    sub = c.accounts.create_account("acme sub", currency("USD"), "demo", acme.account.sid)
    other = c.accounts.create_account("other", currency("EUR"), "demo-discount")
    port = _free_port()
    config = uvicorn.Config(create_app(c, json_logs=False), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(
            f"http://127.0.0.1:{port}",
            c,
            {
                "acme": Credentials(acme.account.sid, acme.auth_token),
                "acme_sub": Credentials(sub.account.sid, sub.auth_token),
                "other": Credentials(other.account.sid, other.auth_token),
            },
        )
    finally:
        server.should_exit = True
        thread.join(timeout=10)
