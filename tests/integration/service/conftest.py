"""Fixtures of the service tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from outbox_world import World, make_world
from prepaid_account import prepaid_account
from tests.webhook_receiver import Receiver, receiving

from telebill.adapters.clock import FrozenClock
from telebill.bootstrap import Container
from telebill.domain.accounts import Account


@pytest.fixture
def acme(demo_container: Container) -> Account:
    """The prepaid account of prepaid_account.py, on the demo catalog."""
    return prepaid_account(demo_container)


@pytest.fixture
def world(database_url: str, clock: FrozenClock) -> Iterator[World]:
    """The outbox tests' world (outbox_world.py)."""
    w = make_world(database_url, clock)
    try:
        yield w
    finally:
        w.c.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on 127.0.0.1 (tests/webhook_receiver.py)."""
    with receiving() as running:
        yield running
