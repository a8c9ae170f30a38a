"""Fixtures of the service tests."""

from __future__ import annotations

import pytest
from prepaid_account import prepaid_account

from telebill.bootstrap import Container
from telebill.domain.accounts import Account


@pytest.fixture
def acme(demo_container: Container) -> Account:
    """The prepaid account of prepaid_account.py, on the demo catalog."""
    return prepaid_account(demo_container)
