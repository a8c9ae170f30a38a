from __future__ import annotations

import pytest

from telebill.domain.errors import RetryableConflict
from telebill.service.retries import ATTEMPTS, retried


def test_a_step_that_lost_races_is_run_again_until_it_wins() -> None:
    runs: list[int] = []

    def step() -> str:
        runs.append(1)
        if len(runs) < 3:
            raise RetryableConflict("lost")
        return "won"

    assert retried(step) == "won"
    assert len(runs) == 3


def test_a_step_that_always_loses_fails_after_the_last_attempt() -> None:
    runs: list[int] = []

    def step() -> None:
        runs.append(1)
        raise RetryableConflict("lost")

    with pytest.raises(RetryableConflict):
        retried(step)
    assert len(runs) == ATTEMPTS


def test_other_errors_are_not_retried() -> None:
    runs: list[int] = []

    def step() -> None:
        runs.append(1)
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        retried(step)
    assert len(runs) == 1
