"""The vectorised rater against the scalar path: same charge, billed seconds, entry, rate and outcome."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import phonenumbers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telebill.domain.bulk_rating import BulkRater, CdrColumns, RateStatus, epoch_us
from telebill.domain.catalog.deck import DeckContent, DeckVersion, version_in_force
from telebill.domain.catalog.entries import ALL, ROW, Destination, Increments, Tariff, VoiceRate
from telebill.domain.catalog.plans import ConditionKind, Override, PricePlan, Tier, quote
from telebill.domain.catalog.voice_table import VoiceRateTable
from telebill.domain.errors import CallBlocked, NoPrice
from telebill.domain.money import Rounding, RoundingMethod, currency, decimal_as_ratio
from telebill.domain.numbering import parse_number
from telebill.domain.rating import CallUsage, rate_call

T0 = datetime(2026, 1, 1, tzinfo=UTC)
REGIONS = ("GB", "JE", "GG", "US", "CA", "FI", "AX", "NO", "SJ", "FR", "DE", "IT", "ES", "JP", "CH", "IE")


def _pool() -> list[str]:
    numbers = []
    for region in REGIONS:
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                numbers.append(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)[1:])
    numbers += ["80012345678", "870772001799"]  # non-geographic: no country
    return sorted(set(numbers))


POOL = _pool()
prefixes = st.builds(lambda n, k: n[:k], st.sampled_from(POOL), st.one_of(st.integers(1, 3), st.integers(1, 12)))


@dataclass(frozen=True)
class Call:
    origin: str | None
    destination: str
    start: datetime
    duration_s: int
    answered: bool


def decimals(max_places: int = 6) -> st.SearchStrategy[Decimal]:
    return st.builds(
        lambda units, places: Decimal(units).scaleb(-places),
        st.integers(0, 10**7),
        st.integers(0, max_places),
    )


tariffs = st.builds(
    lambda price, fee, inc, kind, method, places: Tariff(
        price,
        price,
        inc,
        fee,
        free=kind == "free",
        blocked=kind == "blocked",
        rounding=Rounding(method, places),
    ),
    decimals(),
    st.one_of(st.just(Decimal(0)), decimals()),
    st.builds(Increments, st.sampled_from([1, 6, 30, 60]), st.sampled_from([1, 6, 30, 60])),
    st.sampled_from(["normal"] * 6 + ["free", "blocked"]),
    st.sampled_from(list(RoundingMethod)),
    st.integers(0, 6),
)
origins = st.one_of(st.just(ALL), st.just(ALL), st.just(ROW), prefixes)


@st.composite
def deck_versions(draw: st.DrawFn, name: str, code: str) -> list[DeckVersion]:
    versions = []
    for n in range(draw(st.integers(1, 3))):
        rows = draw(st.dictionaries(st.tuples(prefixes, origins), tariffs, min_size=n, max_size=40))
        if draw(st.booleans()):  # a catch-all for every country code of the pool
            for digit in "13458":
                rows.setdefault((digit, ALL), draw(tariffs))
        table = VoiceRateTable.of(VoiceRate(p, o, Destination(f"{name} {p}"), t) for (p, o), t in rows.items())
        effective = T0 + timedelta(days=30 * n, seconds=draw(st.integers(0, 3)))
        versions.append(DeckVersion.of(name, currency(code), effective, DeckContent(table)))
    return versions


overrides = st.one_of(
    st.builds(lambda p, pc: Override(p, percent_off=pc), st.one_of(st.just(""), prefixes),
              st.sampled_from([Decimal(10), Decimal("12.5"), Decimal("33.333"), Decimal(0), Decimal(100)])),
    st.builds(lambda p, f: Override(p, fixed_price=f), st.one_of(st.just(""), prefixes), decimals()),
)  # fmt: skip


@st.composite
def plans(draw: st.DrawFn) -> tuple[PricePlan, dict[str, list[DeckVersion]]]:
    tiers = []
    if draw(st.booleans()):
        tiers.append(Tier(ConditionKind.DOMESTIC, "dom"))
    if draw(st.booleans()):
        tiers.append(Tier(ConditionKind.ORIGIN_IN_GROUP, "eea", "EEA"))
    if draw(st.booleans()) or not tiers:
        tiers.append(Tier(ConditionKind.ALWAYS, "intl"))
    chosen = draw(st.lists(overrides, max_size=4, unique_by=lambda o: o.prefix))
    plan = PricePlan("p", tuple(tiers), tuple(chosen))
    codes = {"dom": "GBP", "eea": "EUR", "intl": "USD"}
    decks = {t.deck: draw(deck_versions(t.deck, codes[t.deck])) for t in tiers}
    return plan, decks


calls = st.builds(
    Call,
    st.one_of(st.none(), st.sampled_from(POOL)),
    st.sampled_from(POOL),
    st.builds(
        lambda day, s: T0 + timedelta(days=day, seconds=s),
        st.sampled_from([-1, 0, 0, 10, 30, 30, 45, 60, 60, 90]),
        st.integers(0, 5),
    ),
    st.one_of(st.integers(0, 4000), st.sampled_from([0, 1, 59, 60, 61, 10**9])),
    st.booleans(),
)


def scalar(plan: PricePlan, decks: dict[str, list[DeckVersion]], call: Call) -> tuple[object, ...]:
    """(status, charge micros, billed, matched prefix, rate, currency) by `quote` + `rate_call`."""
    in_force = {}
    for name, versions in decks.items():
        chosen = version_in_force(((v, v.effective_from) for v in versions), call.start)
        if chosen is not None:
            in_force[name] = chosen
    destination = parse_number("+" + call.destination)
    origin = parse_number("+" + call.origin) if call.origin else None
    try:
        q = quote(plan, in_force, destination, origin)
        usage = CallUsage(origin.e164 if origin else "", destination.e164, call.start, call.duration_s, call.answered)
        charge = rate_call(usage, q)
    except NoPrice:
        applying = [t for t in plan.tiers if t.applies(origin, destination)]
        if applying and all(t.deck not in in_force for t in applying):
            return (RateStatus.NO_VERSION,)  # every tier that applies waits for its deck's first version
        return (RateStatus.NO_PRICE,)
    except CallBlocked:
        return (RateStatus.BLOCKED, q.entry.prefix)
    num, den = decimal_as_ratio(charge.amount)
    micros = num * 10**6 // den
    if micros >= 2**63:  # beyond 64-bit micros the bulk rater refuses the call, naming why
        return (RateStatus.TOO_LARGE,)
    return (RateStatus.RATED, micros, charge.billed_s, q.entry.prefix, f"{charge.price_per_minute:f}",
            charge.currency.code)  # fmt: skip


def bulk(plan: PricePlan, decks: dict[str, list[DeckVersion]], batch: list[Call]) -> list[tuple[object, ...]]:
    rater = BulkRater(plan, decks)
    columns = CdrColumns(
        destination=np.array([int(c.destination) for c in batch], dtype=np.int64),
        origin=np.array([int(c.origin) if c.origin else -1 for c in batch], dtype=np.int64),
        start_us=np.array([epoch_us(c.start) for c in batch], dtype=np.int64),
        duration_s=np.array([c.duration_s for c in batch], dtype=np.int64),
        answered=np.array([c.answered for c in batch], dtype=np.bool_),
    )
    rated = rater.rate(columns)
    out: list[tuple[object, ...]] = []
    for i in range(len(batch)):
        status = RateStatus(int(rated.status[i]))
        if status in (RateStatus.NO_PRICE, RateStatus.NO_VERSION, RateStatus.TOO_LARGE):
            out.append((status,))
        elif status is RateStatus.BLOCKED:
            out.append((status, rater.matched_prefix(int(rated.entry[i]))))
        else:
            prefix = rater.matched_prefix(int(rated.entry[i]))
            rate, code = rater.rate_text(int(rated.price[i])), rater.currencies[int(rated.currency[i])].code
            out.append((status, int(rated.charge[i]), int(rated.billed_s[i]), prefix, rate, code))
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(plans(), st.lists(calls, min_size=1, max_size=60))
def test_the_bulk_rater_gives_every_call_the_scalar_charge_entry_rate_and_outcome(
    plan_and_decks: tuple[PricePlan, dict[str, list[DeckVersion]]], batch: list[Call]
) -> None:
    plan, decks = plan_and_decks
    assert bulk(plan, decks, batch) == [scalar(plan, decks, call) for call in batch]


def deck(name: str, code: str, effective: datetime, rows: dict[str, str]) -> DeckVersion:
    table = VoiceRateTable.of(
        VoiceRate(p, ALL, Destination(f"{name} {p}"), Tariff(Decimal(v), Decimal(v), Increments(1, 1)))
        for p, v in rows.items()
    )
    return DeckVersion.of(name, currency(code), effective, DeckContent(table))


TIERED = PricePlan(
    "tiered",
    (
        Tier(ConditionKind.DOMESTIC, "dom"),
        Tier(ConditionKind.ORIGIN_IN_GROUP, "eea", "EEA"),
        Tier(ConditionKind.ALWAYS, "intl"),
    ),
    (Override("4420", fixed_price=Decimal("0.5")), Override("", percent_off=Decimal(10))),
)
TIERED_DECKS = {
    "dom": [deck("dom", "GBP", T0, {"44": "0.01", "358": "0.02"})],
    "eea": [deck("eea", "EUR", T0, {"44": "0.03"})],
    "intl": [
        deck("intl", "USD", T0, {"44": "0.60", "4420": "0.70"}),
        deck("intl", "USD", T0 + timedelta(days=30), {"44": "1.20"}),
    ],
}


def rate_one(origin: str | None, destination: str, start: datetime = T0, seconds: int = 60) -> tuple[object, ...]:
    return bulk(TIERED, TIERED_DECKS, [Call(origin, destination, start, seconds, True)])[0]


def test_a_call_within_one_region_of_a_shared_code_is_domestic_and_across_regions_is_not() -> None:
    assert rate_one("447700900123", "447400123456")[3:] == ("44", "0.009", "GBP")  # GB -> GB, 10 % off
    assert rate_one("441534456789", "442079460018")[3:] == ("4420", "0.5", "USD")  # JE -> GB: international


def test_the_origin_group_is_decided_by_the_region_even_when_a_code_is_shared() -> None:
    assert rate_one("358401234567", "447700900123")[5] == "EUR"  # Finland is in the EEA
    assert rate_one("358181234567", "447700900123")[5] == "USD"  # Åland (AX) is not listed


def test_the_version_in_force_at_the_start_of_each_call_prices_it() -> None:
    switch = T0 + timedelta(days=30)
    assert rate_one(None, "447700900123", switch - timedelta(microseconds=1))[4] == "0.54"
    assert rate_one(None, "447700900123", switch)[4] == "1.08"
    assert rate_one(None, "447700900123", T0 - timedelta(seconds=1)) == (RateStatus.NO_VERSION,)


def test_a_rater_survives_pickling_as_spark_ships_it() -> None:
    import pickle

    rater = pickle.loads(pickle.dumps(BulkRater(TIERED, TIERED_DECKS)))
    columns = CdrColumns(
        destination=np.array([447700900123], dtype=np.int64),
        origin=np.array([-1], dtype=np.int64),
        start_us=np.array([epoch_us(T0)], dtype=np.int64),
        duration_s=np.array([60], dtype=np.int64),
        answered=np.array([True]),
    )
    assert rater.rate(columns).charge.tolist() == [540_000]
