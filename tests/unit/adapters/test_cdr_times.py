"""Dates and times in a custom format are read only when the date exists: each digit field
of a cell must be the field of the instant read (Arrow's strptime rolls 31/02 over to March)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telebill.adapters.cdr_arrow import CdrMapping
from telebill.adapters.cdr_columns import Reasons
from telebill.adapters.cdr_names import time_fields
from telebill.adapters.cdr_times import ISO_8601, instants_us
from telebill.domain.errors import InvalidInput


def read_instants(texts: list[str | None] | pa.Array, fmt: str, zone: str | None = None) -> list[datetime | str]:
    """Each cell's instant (UTC), or the reason it was refused."""
    column = texts if isinstance(texts, pa.Array) else pa.array(texts, type=pa.string())
    reasons = Reasons(len(column))
    us, _ = instants_us(column, fmt, "end_time", reasons, zone)
    return [
        reasons.texts[code] if code >= 0 else datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(u))
        for u, code in zip(us.tolist(), reasons.code.tolist(), strict=True)
    ]


def test_an_impossible_calendar_date_in_a_custom_format_is_rejected_naming_its_column() -> None:
    got = read_instants(
        ["29/02/2026 10:00:00", "31/03/2026 23:59:60", "31/04/2026 1:02:03", "29/02/2024 10:00:00", "1/3/2026 9:05:00"],
        "%d/%m/%Y %H:%M:%S",
    )
    assert got == [
        "end_time: not a valid date/time",  # no 29 February in 2026 (Arrow's strptime made it 1 March)
        "end_time: not a valid date/time",  # no leap second 60
        "end_time: not a valid date/time",  # April has 30 days
        datetime(2024, 2, 29, 10, tzinfo=UTC),
        datetime(2026, 3, 1, 9, 5, tzinfo=UTC),  # fields without their leading zeros
    ]


def test_a_two_digit_year_read_by_percent_capital_y_is_out_of_range_not_year_26() -> None:
    assert (
        read_instants(["01/03/26 10:00:00", "01/03/1899 10:00:00"], "%d/%m/%Y %H:%M:%S")
        == ["end_time: year outside 1900-2999"] * 2
    )
    assert read_instants(["01/03/26 10:00:00"], "%d/%m/%y %H:%M:%S") == [datetime(2026, 3, 1, 10, tzinfo=UTC)]


def test_compact_twelve_hour_month_name_and_offset_formats_are_checked_field_by_field() -> None:
    assert read_instants(["20260229100000", "20260228100000", "2026022810000"], "%Y%m%d%H%M%S") == [
        "end_time: not a valid date/time",
        datetime(2026, 2, 28, 10, tzinfo=UTC),
        "end_time: not a valid date/time",  # a digit short: not what the format spells
    ]
    assert read_instants(["02/29/26 10:00:00 PM", "02/28/26 12:30:00 AM"], "%D %r") == [
        "end_time: not a valid date/time",
        datetime(2026, 2, 28, 0, 30, tzinfo=UTC),
    ]
    assert read_instants(["31/Apr/2026", "30/Apr/2026"], "%d/%b/%Y") == [
        "end_time: not a valid date/time",
        datetime(2026, 4, 30, tzinfo=UTC),
    ]
    offsets = [
        "31/12/2026 23:30:00 -0100",
        "01/03/2026 10:00:00 +01:30",
        "01/03/2026 10:00:00 Z",
        "31/02/2026 1:00:00 +01",
    ]
    assert read_instants(offsets, "%d/%m/%Y %H:%M:%S %z") == [
        datetime(2027, 1, 1, 0, 30, tzinfo=UTC),  # the local fields are checked, not those in UTC
        datetime(2026, 3, 1, 8, 30, tzinfo=UTC),
        datetime(2026, 3, 1, 10, tzinfo=UTC),
        "end_time: not a valid date/time",
    ]


@given(
    st.integers(1900, 2999), st.integers(1, 12), st.integers(1, 31), st.integers(0, 23), st.integers(0, 60),
    st.booleans(),
)  # fmt: skip
@settings(max_examples=300, deadline=None)
def test_a_custom_format_reads_exactly_the_dates_that_exist(
    year: int, month: int, day: int, hour: int, second: int, padded: bool
) -> None:
    text = (
        f"{day:02d}/{month:02d}/{year} {hour:02d}:07:{second:02d}"
        if padded
        else f"{day}/{month}/{year} {hour}:7:{second}"
    )
    try:
        want: datetime | str = datetime(year, month, day, hour, 7, second, tzinfo=UTC)
    except ValueError:
        want = "end_time: not a valid date/time"
    assert read_instants(["01/01/2026 00:00:00", text], "%d/%m/%Y %H:%M:%S") == [datetime(2026, 1, 1, tzinfo=UTC), want]


def test_a_format_with_a_field_that_cannot_be_checked_is_refused() -> None:
    with pytest.raises(InvalidInput, match="%j"):
        time_fields("%j %Y")
    with pytest.raises(InvalidInput, match="after %z"):
        CdrMapping(time_format="%d/%m/%Y %z %H:%M")
    assert time_fields("%Y%m%d %T").runs == (("Y", "m", "d"), ("H",), ("M",), ("S",))


@pytest.mark.parametrize(("fmt", "missing"), [("%H:%M", "year or month or day"), ("%d/%m %H:%M", "year"),
                                              ("%Y-%m %H:%M", "day"), ("%Y %d %H:%M", "month")])  # fmt: skip
def test_a_format_without_a_whole_date_is_refused(fmt: str, missing: str) -> None:
    with pytest.raises(InvalidInput, match=f"no {missing}; a call's start needs its date"):
        CdrMapping(time_format=fmt)


def test_a_date_may_be_spelled_with_month_names_or_compound_directives() -> None:
    assert time_fields("%d %b %Y %H:%M").runs == (("d",), ("Y",), ("H",), ("M",))
    assert time_fields("%D %T").runs == (("m",), ("d",), ("y",), ("H",), ("M",), ("S",))


NEW_YORK = "America/New_York"


def test_times_without_an_offset_are_local_times_of_the_zone_and_times_with_one_are_not() -> None:
    got = read_instants(
        ["2026-01-15T10:00:00", "2026-07-15T10:00:00", "2026-07-15 10:00:00.5", None], ISO_8601, NEW_YORK
    )
    assert got[:3] == [
        datetime(2026, 1, 15, 15, tzinfo=UTC),  # EST, UTC-5
        datetime(2026, 7, 15, 14, tzinfo=UTC),  # EDT, UTC-4
        datetime(2026, 7, 15, 14, 0, 0, 500_000, tzinfo=UTC),
    ]
    assert read_instants(["2026-07-15T10:00:00Z", "2026-07-15T10:00:00+02:00"], ISO_8601, NEW_YORK) == [
        datetime(2026, 7, 15, 10, tzinfo=UTC),
        datetime(2026, 7, 15, 8, tzinfo=UTC),
    ]
    # a column mixing both is read cell by cell, each as it is written
    assert read_instants(["2026-07-15T10:00:00", "2026-07-15T10:00:00Z"], ISO_8601, NEW_YORK) == [
        datetime(2026, 7, 15, 14, tzinfo=UTC),
        datetime(2026, 7, 15, 10, tzinfo=UTC),
    ]
    assert read_instants(["15/07/2026 10:00 +0000"], "%d/%m/%Y %H:%M %z", NEW_YORK) == [
        datetime(2026, 7, 15, 10, tzinfo=UTC)
    ]
    assert read_instants(["15/07/2026 10:00"], "%d/%m/%Y %H:%M", NEW_YORK) == [datetime(2026, 7, 15, 14, tzinfo=UTC)]


def test_a_local_time_the_clocks_skip_is_refused_and_a_repeated_one_is_the_earlier_instant() -> None:
    got = read_instants(
        ["2026-03-29T00:59:59", "2026-03-29T01:30:00", "2026-03-29T02:00:00", "2026-10-25T01:30:00"],
        ISO_8601,
        "Europe/London",
    )
    assert got == [
        datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC),  # GMT
        "end_time: a time the clocks skip in Europe/London (daylight saving)",
        datetime(2026, 3, 29, 1, tzinfo=UTC),  # BST, UTC+1
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 01:30 BST, not 01:30 GMT an hour later
    ]


def test_arrow_timestamps_without_a_zone_and_dates_are_local_and_zoned_timestamps_are_instants() -> None:
    naive = pa.array([datetime(2026, 7, 15, 10)], type=pa.timestamp("s"))
    zoned = pa.array([datetime(2026, 7, 15, 10, tzinfo=UTC)], type=pa.timestamp("ms", tz="UTC"))
    day = pa.array([datetime(2026, 7, 15).date()], type=pa.date32())
    assert read_instants(naive, ISO_8601, NEW_YORK) == [datetime(2026, 7, 15, 14, tzinfo=UTC)]
    assert read_instants(zoned, ISO_8601, NEW_YORK) == [datetime(2026, 7, 15, 10, tzinfo=UTC)]
    assert read_instants(day, ISO_8601, NEW_YORK) == [datetime(2026, 7, 15, 4, tzinfo=UTC)]


def test_an_unknown_time_zone_is_refused_naming_the_option() -> None:
    with pytest.raises(InvalidInput, match=r"^timezone: unknown time zone 'Mars/Olympus'"):
        CdrMapping(timezone="Mars/Olympus")
    assert CdrMapping.preset("uk-sample").timezone == "Europe/London"
