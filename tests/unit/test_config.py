"""Settings refuse values the charging rules cannot work with."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from telebill.config import Settings


def test_a_hold_must_outlive_twice_the_interval_it_covers() -> None:
    assert Settings(charging_interval_s=30, hold_timeout_s=60).hold_timeout_s == 60
    with pytest.raises(ValidationError, match="must be at least twice charging_interval_s"):
        Settings(charging_interval_s=60, hold_timeout_s=90)
    with pytest.raises(ValidationError, match="charging_interval_s"):
        Settings(charging_interval_s=0)
    with pytest.raises(ValidationError, match="hold_timeout_s"):
        Settings(hold_timeout_s=10**12)  # every hold's expiry would overflow
