"""Demo catalog: three USD rate decks and two price plans built from public numbering data.

Owns the derivation of the demo voice prefixes: ITU dialling codes from the bundled
`country-codes.csv`, mobile ranges from the libphonenumber metadata example numbers and
NANP area codes from its number patterns. The hand-written prices live in `demo_prices`;
rates not written there are drawn from a `random.Random(2026)`, so every build is the
same (no clock, no network).
"""

from __future__ import annotations

import csv
import io
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from importlib.resources import files
from typing import Final

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from telebill.adapters import demo_prices as prices
from telebill.domain.catalog.deck import DeckContent
from telebill.domain.catalog.entries import (
    ALL,
    ROW,
    Destination,
    InboundPrice,
    InboundType,
    Increments,
    NumberPrice,
    ResourcePrice,
    SmsPrice,
    Tariff,
    VoiceRate,
)
from telebill.domain.catalog.plans import EEA, ConditionKind, Override, PricePlan, Tier
from telebill.domain.catalog.voice_table import VoiceRateTable
from telebill.domain.errors import InvalidRate

SEED: Final = 2026
CURRENCY: Final = "USD"
INTERNATIONAL: Final = "demo-international"
DOMESTIC: Final = "demo-domestic"
EEA_DECK: Final = "demo-eea"
NANP: Final = "1"

_DIAL_CODE: Final = re.compile(r"\d+(?:-\d+)?")
_NPA_SAMPLES: Final = ("2345678", "5550123", "9876543")
_FREE: Final = Tariff(Decimal("0.0000"), Decimal("0.0000"), free=True)
_TEN_THOUSANDTH: Final = Decimal("0.0001")
_FIXED_PROBE_FILLERS: Final = ("01234567890123", "55555555555555", "98765432109876")


@dataclass(frozen=True)
class DemoCatalog:
    """The demo decks as (name, currency code, content) and the plans that chain them."""

    decks: tuple[tuple[str, str, DeckContent], ...]
    plans: tuple[PricePlan, ...]

    def deck(self, name: str) -> DeckContent:
        for deck_name, _, content in self.decks:
            if deck_name == name:
                return content
        raise KeyError(name)


@dataclass(frozen=True, slots=True)
class Country:
    """A country of the CSV: ITU dialling codes as digits and the voice prefixes it owns."""

    iso: str
    name: str
    region: str
    dial_codes: tuple[str, ...]
    prefixes: tuple[str, ...]


def dial_codes(dial: str) -> tuple[str, ...]:
    """Digits of the CSV `Dial` cell: `1-684` -> 1684, `1-809,1-829` -> both, `290 n` -> 290."""
    return tuple(code.replace("-", "") for code in _DIAL_CODE.findall(dial))


def nanp_area_codes(region: str) -> tuple[str, ...]:
    """`1` + each area code whose fixed or mobile numbers the metadata of `region` accepts."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if meta is None:
        return ()
    patterns = [
        re.compile(str(desc.national_number_pattern))
        for desc in (meta.fixed_line, meta.mobile)
        if desc is not None and desc.national_number_pattern
    ]
    return tuple(
        f"{NANP}{npa}"
        for npa in range(200, 1000)
        if any(p.fullmatch(f"{npa}{rest}") for p in patterns for rest in _NPA_SAMPLES)
    )


def load_countries() -> tuple[Country, ...]:
    """Countries of the bundled CSV with a dialling code, with their own voice prefixes."""
    source = files("telebill") / "data" / "country-codes.csv"
    countries: list[Country] = []
    with io.StringIO(source.read_text(encoding="utf-8"), newline="") as handle:
        for row in csv.DictReader(handle):
            iso, codes = row["ISO3166-1-Alpha-2"].strip(), dial_codes(row["Dial"])
            if not iso or not codes:
                continue
            if iso in prices.NO_OWN_RANGE:
                own: tuple[str, ...] = ()
            elif iso in prices.OWN_RANGES:
                own = prices.OWN_RANGES[iso]
            elif codes == (NANP,) and iso != "US":
                own = nanp_area_codes(iso)
            else:
                own = codes
            name = row["CLDR display name"].strip() or iso
            countries.append(Country(iso, name, row["Region Name"].strip(), codes, own))
    return tuple(countries)


def _example(region: str, kind: int) -> str:
    """E.164 digits of the metadata's example number of type `kind`, "" if none or ambiguous.

    An example the metadata itself classifies otherwise (FIXED_LINE_OR_MOBILE in the NANP,
    Mexico or Chile) has no range of its own to derive a prefix from.
    """
    number = phonenumbers.example_number_for_type(region, kind)
    if number is None or phonenumbers.number_type(number) != kind:
        return ""
    return str(phonenumbers.format_number(number, PhoneNumberFormat.E164))[1:]


def mobile_prefixes(countries: Iterable[Country]) -> dict[str, tuple[str, ...]]:
    """Mobile prefix(es) of each country: `demo_prices.MOBILE_RANGES`, else derived.

    Derived: country code + the first 1-3 national digits of the metadata's example mobile
    number, the shortest that is free, inside the country's own range and reaching no fixed
    line (neither the fixed-line example nor a probe number the fixed-line pattern accepts).
    A country whose example already falls in another country's mobile prefix (Åland in
    Finland's) shares it; where the example is fixed-or-mobile (NANP, Mexico, Chile) or no
    1-3 digit prefix qualifies, there is no mobile row. Countries are taken shortest prefix
    first, so a code's main country goes first.
    """
    ordered = sorted((c for c in countries if c.prefixes), key=lambda c: min(map(len, c.prefixes)))
    owner = {p: c.iso for c in ordered for p in c.prefixes}
    result: dict[str, tuple[str, ...]] = {}
    taken = set(owner)
    for country in ordered:
        chosen = prices.MOBILE_RANGES.get(country.iso) or _derived_mobile(country, owner, taken, result)
        if chosen:
            result[country.iso] = chosen
            taken.update(chosen)
    return result


def _derived_mobile(
    country: Country, owner: dict[str, str], taken: set[str], found: dict[str, tuple[str, ...]]
) -> tuple[str, ...]:
    mobile = _example(country.iso, PhoneNumberType.MOBILE)
    if not mobile:
        return ()
    if any(mobile.startswith(p) for ps in found.values() for p in ps):
        return ()
    fixed = _example(country.iso, PhoneNumberType.FIXED_LINE)
    code = str(phonenumbers.country_code_for_region(country.iso))
    for k in (1, 2, 3):
        prefix = mobile[: len(code) + k]
        covering = [p for p in owner if prefix.startswith(p)]
        inside = bool(covering) and owner[max(covering, key=len)] == country.iso
        mixed = fixed.startswith(prefix) or _reaches_fixed_lines(country.iso, prefix[len(code) :])
        if prefix not in taken and inside and not mixed:
            return (prefix,)
    return ()


def _reaches_fixed_lines(region: str, national: str) -> bool:
    """Whether some probe number starting with `national` is a valid fixed line of `region`."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    desc = None if meta is None else meta.fixed_line
    if desc is None or not desc.national_number_pattern:
        return False
    pattern = re.compile(str(desc.national_number_pattern))
    lengths = [int(n) for n in desc.possible_length or ()] or [len(national) + 8]
    return any(
        pattern.fullmatch((national + digit + filler)[:length])
        for length in lengths
        for digit in "0123456789"
        for filler in _FIXED_PROBE_FILLERS
    )


class _Rates:
    """Seeded random per-minute tariffs: 4-decimal prices, some list-price discounts."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def amount(self, low: int, high: int) -> Decimal:
        """A price between `low` and `high` ten-thousandths of a dollar."""
        return Decimal(self.rng.randint(low, high)).scaleb(-4)

    def tariff(self, current: Decimal) -> Tariff:
        discount = self.rng.randint(1, 100) <= 25
        base = current * Decimal(100 + self.rng.randint(5, 25)) / 100 if discount else current
        roll = self.rng.randint(1, 100)
        increments = Increments() if roll <= 80 else Increments(1, 1) if roll <= 92 else Increments(30, 6)
        fee = self.amount(50, 300) if self.rng.randint(1, 100) <= 5 else Decimal(0)
        return Tariff(base.quantize(_TEN_THOUSANDTH), current, increments, fee)

    def country_tariffs(self, region: str) -> tuple[Tariff, Tariff]:
        """Fixed-line and mobile tariffs of a country in UN region `region`."""
        fixed_lo, fixed_hi, mobile_lo, mobile_hi = prices.REGION_BANDS.get(region, prices.DEFAULT_BAND)
        fixed = self.amount(fixed_lo, fixed_hi)
        mobile = max(self.amount(mobile_lo, mobile_hi), fixed + self.amount(20, 300))
        return self.tariff(fixed), self.tariff(min(mobile, Decimal(prices.MOBILE_CAP).scaleb(-4)))


class _Voice:
    """Voice rows of one deck keyed by (prefix, origin); a repeated key is refused at once."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], VoiceRate] = {}

    def add(self, prefix: str, origin: str, destination: Destination, tariff: Tariff) -> None:
        if (prefix, origin) in self.rows:
            raise InvalidRate(f"demo catalog: prefix {prefix} from {origin} added twice")
        self.rows[prefix, origin] = VoiceRate(prefix, origin, destination, tariff)

    def table(self) -> VoiceRateTable:
        return VoiceRateTable.of(self.rows[key] for key in sorted(self.rows))


def _blocked(prefix: str) -> tuple[Destination, Tariff]:
    name, price = prices.BLOCKED[prefix]
    return Destination(name), Tariff(Decimal(price), Decimal(price), blocked=True)


def _international(countries: tuple[Country, ...], rates: _Rates) -> _Voice:
    voice = _Voice()
    mobiles = mobile_prefixes(countries)
    for country in countries:
        fixed, mobile = rates.country_tariffs(country.region)
        free = country.iso in prices.FREE_COUNTRIES
        for prefix in country.prefixes:
            voice.add(prefix, ALL, Destination(country.name, country.iso), _FREE if free else fixed)
        for prefix in mobiles.get(country.iso, ()):
            voice.add(prefix, ALL, Destination(f"{country.name} - Mobile", country.iso), mobile)
    for prefix, name, price in prices.EXTRA_DESTINATIONS:
        voice.add(prefix, ALL, Destination(name), rates.tariff(Decimal(price)))
    for prefix in prices.BLOCKED:
        voice.add(prefix, ALL, *_blocked(prefix))
    for prefix, origin, price in prices.ORIGIN_RATES:
        generic = voice.rows.get((prefix, ALL)) or voice.rows[prefix, ROW]
        if origin == ROW:
            voice.rows.pop((prefix, ALL))
        voice.add(prefix, origin, generic.destination, Tariff(Decimal(price), Decimal(price)))
    return voice


def _domestic(countries: tuple[Country, ...]) -> _Voice:
    names = {c.iso: c.name for c in countries}
    voice = _Voice()
    for iso, prefix, suffix, price in prices.DOMESTIC:
        tariff = Tariff(Decimal(price), Decimal(price)) if price else _FREE
        voice.add(prefix, ALL, Destination(names[iso] + suffix, iso), tariff)
    for iso in prices.DOMESTIC_AREA_CODES:
        for prefix in nanp_area_codes(iso):
            voice.add(prefix, ALL, Destination(names[iso], iso), _FREE)
    for prefix in prices.DOMESTIC_BLOCKED:
        voice.add(prefix, ALL, *_blocked(prefix))
    return voice


def _eea(international: _Voice, rates: _Rates) -> _Voice:
    """EEA destinations at a fraction of their international rate, billed 60/60."""
    low, high = prices.EEA_PERCENT
    voice = _Voice()
    for (prefix, origin), rate in sorted(international.rows.items()):
        if rate.iso_country not in EEA or origin not in (ALL, ROW):
            continue
        price = (rate.tariff.current_price * rates.rng.randint(low, high) / 100).quantize(_TEN_THOUSANDTH)
        voice.add(prefix, ALL, rate.destination, Tariff(price, price))
    return voice


def _inbound() -> tuple[InboundPrice, ...]:
    out: list[InboundPrice] = []
    for country, (increments, *amounts) in prices.INBOUND.items():
        kinds = [(t, ALL) for t in InboundType] + [(InboundType.TOLL_FREE, "type:mobile")]
        for (kind, caller), amount in zip(kinds, amounts, strict=True):
            price = Decimal(amount)
            out.append(InboundPrice(country, kind, caller, price, price, Increments.parse(increments)))
    return tuple(out)


def _sms() -> tuple[SmsPrice, ...]:
    return tuple(SmsPrice(c, p, Decimal(b), Decimal(cur), Decimal(i)) for c, p, b, cur, i in prices.SMS)


def _numbers() -> tuple[NumberPrice, ...]:
    return tuple(
        NumberPrice(c, cat, reg, Decimal(s), Decimal(m), Decimal(bm)) for c, cat, reg, s, m, bm in prices.NUMBERS
    )


def _resources() -> tuple[ResourcePrice, ...]:
    return tuple(ResourcePrice(r, u, q, Decimal(b), Decimal(cur)) for r, u, q, b, cur in prices.RESOURCES)


def demo_plans() -> tuple[PricePlan, ...]:
    """`demo`: domestic -> EEA -> international; `demo-discount`: the same, 10% off, UK at 0.01."""
    tiers = (
        Tier(ConditionKind.DOMESTIC, DOMESTIC),
        Tier(ConditionKind.ORIGIN_IN_GROUP, EEA_DECK, "EEA"),
        Tier(ConditionKind.ALWAYS, INTERNATIONAL),
    )
    overrides = (
        Override(prefix="", percent_off=Decimal(10)),
        Override(prefix="44", fixed_price=Decimal("0.01")),
    )
    return (PricePlan("demo", tiers), PricePlan("demo-discount", tiers, overrides))


def build_demo_catalog() -> DemoCatalog:
    """Build the demo decks and plans; the same every time."""
    rates = _Rates(random.Random(SEED))  # noqa: S311 - demo prices, not security
    countries = load_countries()
    international = _international(countries, rates)
    eea = _eea(international, rates)
    main = DeckContent(international.table(), _inbound(), _sms(), _numbers(), _resources())
    decks = (
        (INTERNATIONAL, CURRENCY, main),
        (DOMESTIC, CURRENCY, DeckContent(_domestic(countries).table())),
        (EEA_DECK, CURRENCY, DeckContent(eea.table())),
    )
    return DemoCatalog(decks, demo_plans())
