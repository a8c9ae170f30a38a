"""Rating Arrow batches: columns read as spelled, every row rated or given a reason."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa
import pytest

from telebill.adapters.cdr_arrow import RATED_FIELDS, ArrowCdrRater, CdrMapping
from telebill.adapters.cdr_compare import call_columns
from telebill.domain.bulk_rating import BulkRater
from telebill.domain.catalog.deck import DeckContent, DeckVersion
from telebill.domain.catalog.entries import ALL, Destination, Increments, Tariff, VoiceRate
from telebill.domain.catalog.plans import ConditionKind, PricePlan, Tier
from telebill.domain.catalog.voice_table import VoiceRateTable
from telebill.domain.errors import InvalidInput
from telebill.domain.money import Rounding, currency

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def tariff(price: str, inc: str = "60/60", fee: str = "0", rounding: str = "half_up:6", **kw: bool) -> Tariff:
    return Tariff(
        Decimal(price), Decimal(price), Increments.parse(inc), Decimal(fee), rounding=Rounding.parse(rounding), **kw
    )


DECK = DeckVersion.of(
    "intl",
    currency("EUR"),
    T0,
    DeckContent(
        VoiceRateTable.of(
            [
                VoiceRate("44", ALL, Destination("United Kingdom", "GB"), tariff("0.10")),
                VoiceRate("447", ALL, Destination("UK mobile", "GB"), tariff("0.0333", "1/1", rounding="up:4")),
                VoiceRate("33", ALL, Destination("France", "FR"), tariff("0.02", "30/6", fee="0.05")),
                VoiceRate("882", ALL, Destination("Networks"), tariff("0", blocked=True)),
            ]
        )
    ),
)
PLAN = PricePlan("p", (Tier(ConditionKind.ALWAYS, "intl"),))


def rater(mapping: CdrMapping | None = None) -> ArrowCdrRater:
    return ArrowCdrRater(BulkRater(PLAN, {"intl": [DECK]}), mapping or CdrMapping())


def batch(rows: list[dict[str, object]]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist(rows)


def cdr(
    call_id: str, to: object, seconds: object = "60", start: object = "2026-02-01T10:00:00Z", frm: object = None
) -> dict[str, object]:
    return {"call_id": call_id, "from": frm, "to": to, "start_time": start, "duration_s": seconds}


def test_rated_rows_carry_charge_currency_prefix_billed_seconds_and_rate() -> None:
    out = (
        rater()
        .rate_batch(
            batch([cdr("a", "+44 20 7946 0018", 61), cdr("b", "+447700900123", 7), cdr("c", "0033142278186", 31)])
        )
        .to_pylist()
    )
    assert [(r["charge"], r["currency"], r["matched_prefix"], r["billed_s"], r["rate"]) for r in out] == [
        (Decimal("0.200000"), "EUR", "44", 120, "0.10"),  # two minutes at 0.10
        (Decimal("0.003900"), "EUR", "447", 7, "0.0333"),  # 0.0333 * 7 / 60 = 0.003885, up:4
        (Decimal("0.062000"), "EUR", "33", 36, "0.02"),  # 0.05 + 0.02 * 36 / 60
    ]
    assert all(r["reject_reason"] is None for r in out)


def test_every_bad_row_gets_a_reason_naming_its_field() -> None:
    rows = [
        cdr("no-to", None),
        cdr("bad-to", "12"),
        cdr("bad-from", "+447700900123", frm="not a number"),
        cdr("bad-start", "+447700900123", start="yesterday"),
        cdr("bad-duration", "+447700900123", seconds="-5"),
        cdr("no-price", "+81312345678"),
        cdr("blocked", "+882345678901"),
    ]
    out = rater().rate_batch(batch(rows)).to_pylist()
    reasons = {r["call_id"]: r["reject_reason"] for r in out}
    assert reasons["no-to"] == "to: missing"
    assert reasons["bad-to"].startswith("to: ")
    assert reasons["bad-from"].startswith("from: ")
    assert reasons["bad-start"] == "start_time: not an ISO 8601 date-time"
    assert reasons["bad-duration"] == "duration_s: negative"
    assert reasons["no-price"] == "no price in plan p"
    assert reasons["blocked"] == "blocked destination (Networks, prefix 882)"
    assert all(r["charge"] is None and r["billed_s"] is None for r in out)


def test_numbers_may_arrive_as_integers_and_durations_as_text() -> None:
    rows = [cdr("a", 442079460018, "61")]
    out = rater().rate_batch(batch(rows)).to_pylist()
    assert out[0]["charge"] == Decimal("0.200000")


def test_mixed_iso_spellings_and_timestamp_columns_are_read() -> None:
    rows = [
        cdr("z", "+442079460018", start="2026-02-01T10:00:00Z"),
        cdr("n", "+442079460018", start="2026-02-01 10:00"),
    ]
    assert [r["reject_reason"] for r in rater().rate_batch(batch(rows)).to_pylist()] == [None, None]
    stamped = pa.RecordBatch.from_pydict(
        {
            "call_id": ["t"],
            "from": [None],
            "to": ["+442079460018"],
            "start_time": pa.array([datetime(2025, 12, 31, 23, 59)], type=pa.timestamp("ns")),
            "duration_s": [60],
        }
    )
    early = "no price in plan p: its decks for this call have no version in force at that time"
    assert rater().rate_batch(stamped).column("reject_reason").to_pylist() == [early]


def test_a_call_before_every_deck_version_is_told_apart_from_a_number_the_plan_does_not_price() -> None:
    rows = [
        cdr("early", "+442079460018", start="2025-12-31T23:59:59Z"),  # the deck starts 2026-01-01
        cdr("japan", "+81312345678", start="2026-02-01T10:00:00Z"),
        cdr("both", "+81312345678", start="2025-12-31T23:59:59Z"),
        cdr("uk", "+442079460018", start="2026-02-01T10:00:00Z"),
    ]
    reasons = [r["reject_reason"] for r in rater().rate_batch(batch(rows)).to_pylist()]
    early = "no price in plan p: its decks for this call have no version in force at that time"
    assert reasons == [early, "no price in plan p", early, None]


def test_a_call_is_told_it_came_too_early_only_when_every_tier_that_applies_waits_for_its_deck() -> None:
    uk = VoiceRate("44", ALL, Destination("United Kingdom", "GB"), tariff("0.20"))
    late = DeckVersion.of(
        "late", currency("EUR"), datetime(2026, 3, 1, tzinfo=UTC), DeckContent(VoiceRateTable.of([uk]))
    )
    plan = PricePlan("q", (Tier(ConditionKind.DOMESTIC, "intl"), Tier(ConditionKind.ALWAYS, "late")))
    tiered = ArrowCdrRater(BulkRater(plan, {"intl": [DECK], "late": [late]}), CdrMapping())
    us, gb, feb, apr = "+14155550100", "+442071234567", "2026-02-01T10:00:00Z", "2026-04-01T10:00:00Z"
    rows = [
        cdr("domestic", "+442079460018", frm=gb, start=feb),  # the domestic tier's deck is in force
        cdr("from-us", "+442079460018", frm=us, start=feb),  # only the late deck's tier applies
        cdr("from-us-later", "+442079460018", frm=us, start=apr),
        cdr("japan-later", "+81312345678", frm=us, start=apr),  # the late deck is in force, without Japan
    ]
    out = tiered.rate_batch(batch(rows)).to_pylist()
    too_early = "no price in plan q: its decks for this call have no version in force at that time"
    assert [(r["charge"], r["reject_reason"]) for r in out] == [
        (Decimal("0.100000"), None),
        (None, too_early),
        (Decimal("0.200000"), None),
        (None, "no price in plan q"),
    ]


def test_the_output_schema_appends_the_rated_columns_and_refuses_a_clash() -> None:
    schema = pa.schema([("call_id", pa.string()), ("to", pa.string())])
    assert rater().output_schema(schema).names == ["call_id", "to", *(f.name for f in RATED_FIELDS)]
    with pytest.raises(InvalidInput, match="charge"):
        rater().output_schema(pa.schema([("charge", pa.string())]))


def test_a_missing_column_is_named() -> None:
    with pytest.raises(InvalidInput, match="'to'"):
        rater().rate_batch(batch([{"call_id": "a", "from": None, "start_time": "x", "duration_s": 1}]))


def test_the_uk_preset_reads_national_numbers_split_dates_and_end_times() -> None:
    rows = [
        {"callID": 1, " phoneNumber": 1650333333, " destPhoneNumber": 2079460018, " startDate": "31/1/2026",
         " endDate": "1/2/2026", " startTime": "23:59:00", " endTime": "00:01:01"},
    ]  # fmt: skip
    out = rater(CdrMapping.preset("uk-sample")).rate_batch(batch(rows)).to_pylist()[0]
    assert (out["billed_s"], out["charge"], out[" phoneNumber"]) == (180, Decimal("0.300000"), 1650333333)


def test_columns_can_be_remapped_and_unknown_fields_are_refused() -> None:
    mapping = CdrMapping().with_columns({"to": "callee", "from": "caller"})
    assert (mapping.destination, mapping.origin) == ("callee", "caller")
    with pytest.raises(InvalidInput, match="unknown CDR field"):
        CdrMapping().with_columns({"price": "x"})
    with pytest.raises(InvalidInput, match="unknown CDR preset"):
        CdrMapping.preset("nope")


def test_naming_an_end_time_column_takes_the_duration_from_the_end_unless_a_duration_column_is_named() -> None:
    ended = CdrMapping().with_columns({"end_time": "stop"})
    assert (ended.end_time, ended.duration_s) == ("stop", None)
    both = CdrMapping().with_columns({"end_time": "stop", "duration_s": "secs"})
    assert (both.end_time, both.duration_s) == ("stop", "secs")
    rows = [{"call_id": "c1", "from": "", "to": "+442079460018", "start_time": "2026-02-01T10:00:00Z",
             "stop": "2026-02-01T10:01:01Z"}]  # fmt: skip
    assert rater(ended).rate_batch(batch(rows)).to_pylist()[0]["billed_s"] == 120


def test_an_answered_column_makes_unanswered_calls_free() -> None:
    rows = [{**cdr("a", "+442079460018", 61), "answered": "false"}, {**cdr("b", "+442079460018", 61), "answered": "1"}]
    out = rater(CdrMapping(answered="answered")).rate_batch(batch(rows)).to_pylist()
    assert [(r["charge"], r["billed_s"]) for r in out] == [(Decimal("0E-6"), 0), (Decimal("0.200000"), 120)]


def test_the_arrow_rater_survives_pickling() -> None:
    copy = pickle.loads(pickle.dumps(rater()))
    out = copy.rate_batch(batch([cdr("a", "+442079460018", 61)])).to_pylist()
    assert out[0]["charge"] == Decimal("0.200000")


def test_the_uk_preset_rejects_an_end_date_that_does_not_exist_rather_than_bill_days() -> None:
    row = {"callID": "1", "phoneNumber": "1650333333", "destPhoneNumber": "02079460018", "startDate": "28/02/2026",
           "endDate": "31/02/2026", "startTime": "23:50:00", "endTime": "0:10:00"}  # fmt: skip
    mapping = CdrMapping.preset("uk-sample")
    out = rater(mapping).rate_batch(batch([row])).to_pylist()[0]
    assert (out["charge"], out["reject_reason"]) == (None, "end_time: not a valid date/time")
    # rerate and reconcile report the call's duration as unknown, not as two days
    assert call_columns(batch([row]), mapping)[4].to_pylist() == [None]
    fixed = call_columns(batch([{**row, "endDate": "01/03/2026"}]), mapping)
    assert fixed[4].to_pylist() == [1200]


def test_a_bad_number_gets_the_same_reason_whichever_parser_reads_it() -> None:
    rows = [cdr("1", "+38000000000"), cdr("2", "+380 0000 0000"), cdr("3", "(380)00000000"), cdr("4", "+380-0000000x")]
    reasons = [r["reject_reason"] for r in rater().rate_batch(batch(rows)).to_pylist()]
    integers = rater().rate_batch(pa.RecordBatch.from_pylist([cdr("5", 38000000000)]))
    assert reasons[:3] == ["to: wrong length for its country"] * 3 == integers.column("reject_reason").to_pylist() * 3
    assert reasons[3] == "to: only digits, an optional leading + or 00, and separators"
