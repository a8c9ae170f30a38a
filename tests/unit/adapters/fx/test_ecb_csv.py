import io
from datetime import date
from decimal import Decimal

import pytest

from telebill.adapters.fx.ecb_csv import read_ecb_csv
from telebill.domain.errors import InvalidRows

SAMPLE = "Date,USD,JPY,CYP,GBP,\n2026-10-30,1.1172,175.68,N/A,0.8338,\n2026-10-29,1.113,175.92,N/A,0.83578,\n"


def test_trailing_commas_and_na_cells_are_understood() -> None:
    rates = read_ecb_csv(io.StringIO(SAMPLE), "ecb.csv")
    assert (date(2026, 10, 30), "USD", Decimal("1.1172")) in rates
    assert (date(2026, 10, 29), "GBP", Decimal("0.83578")) in rates
    assert not [r for r in rates if r[1] == "CYP"]
    assert len(rates) == 6


def test_rates_are_exact_decimals() -> None:
    rates = read_ecb_csv(io.StringIO(SAMPLE), "ecb.csv")
    assert all(isinstance(r[2], Decimal) for r in rates)
    assert str(next(r[2] for r in rates if r[1] == "JPY")) == "175.68"


def test_every_bad_row_is_reported_and_nothing_returned() -> None:
    bad = "Date,USD,\n2026-13-01,1.1,\n2026-10-29,abc,\n2026-10-28,-1,\n"
    with pytest.raises(InvalidRows) as info:
        read_ecb_csv(io.StringIO(bad), "ecb.csv")
    assert [line for line, _ in info.value.errors] == [2, 3, 4]


def test_a_file_that_is_not_the_ecb_format_is_refused() -> None:
    with pytest.raises(InvalidRows, match="Date"):
        read_ecb_csv(io.StringIO("when,USD\n"), "x.csv")
