"""Price tables of the demo catalog: the hand-written numbers `demo_catalog` turns into decks.

Owns the facts that cannot be derived from the bundled country list or the libphonenumber
metadata: dialling ranges of territories that share a country code, mobile ranges that the
metadata example gets wrong, rate bands per world region, blocked and free destinations,
origin-specific rates, the domestic deck, and the inbound, SMS, number and resource prices.
Every amount is a decimal string in USD; `demo_catalog` makes the Decimals.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

# Territories sharing a country code get their own real sub-range instead of the bare code.
OWN_RANGES: Final[Mapping[str, tuple[str, ...]]] = {
    "AX": ("35818",),  # Åland: +358 18
    "KZ": ("76", "77"),  # Kazakhstan shares +7 with Russia
    "VA": ("3906698",),  # Vatican City: +39 06 698 (CSV says 39-06)
    "GG": ("441481",),  # Guernsey: +44 1481
    "IM": ("441624",),  # Isle of Man: +44 1624
    "JE": ("441534",),  # Jersey: +44 1534
    "CX": ("6189164",),  # Christmas Island: +61 8 9164
    "CC": ("6189162",),  # Cocos (Keeling) Islands: +61 8 9162
    "YT": ("262269",),  # Mayotte fixed lines: +262 269
    "BL": ("59059027",),  # Saint-Barthélemy: +590 590 27
    "MF": ("59059087",),  # Saint-Martin: +590 590 87
    "EH": ("2125288", "2125289"),  # Western Sahara (Laâyoune): +212 528 8/9
    "SJ": ("4779",),  # Svalbard: +47 79
    "NF": ("6721", "6723"),  # Norfolk Island: +672 1 and 3 in libphonenumber's metadata
    "CW": ("5999",),  # Curaçao: +599 9
    "BQ": ("5993", "5994", "5997"),  # Sint Eustatius, Saba, Bonaire
}

# Countries of the CSV with a dialling code but no numbering range of their own: their code
# is priced under another entry (named in the comment), so they get no row of their own.
NO_OWN_RANGE: Final[Mapping[str, str]] = {
    "BV": "47 (Norway); uninhabited",
    "HM": "672 (Australian External Territories); uninhabited",
    "AQ": "672 (Australian External Territories); libphonenumber gives +672 1 to Norfolk Island",
    "GS": "500 (Falkland Islands)",
    "TF": "262 (Réunion)",
    "PN": "870 (Inmarsat, blocked)",
}

# Mobile ranges where the metadata example gives a too-narrow or too-wide prefix.
MOBILE_RANGES: Final[Mapping[str, tuple[str, ...]]] = {
    "FR": ("336", "337"),
    "DE": ("4915", "4916", "4917"),
    "ES": ("346", "347"),
    "RE": ("262692", "262693"),
    "YT": ("262639",),
}

# Per-minute rate bands by UN region, in ten-thousandths of a dollar: (fixed lo, hi, mobile lo, hi).
REGION_BANDS: Final[Mapping[str, tuple[int, int, int, int]]] = {
    "Europe": (100, 450, 250, 1400),
    "Americas": (80, 600, 150, 1500),
    "Asia": (90, 900, 120, 1800),
    "Africa": (300, 2500, 500, 4000),
    "Oceania": (250, 2200, 600, 3800),
}
DEFAULT_BAND: Final = (1500, 3500, 2000, 4000)
MOBILE_CAP: Final = 4000  # never above 0.40 a minute

FREE_COUNTRIES: Final = ("US", "CA")  # calls to the US and Canada are free, whatever the origin

# Codes priced without a country of their own: (prefix, friendly name, price).
EXTRA_DESTINATIONS: Final = (
    ("672", "Australian External Territories", "0.9500"),
    ("599", "Netherlands Antilles", "0.1200"),  # the bare code, between Curaçao and the BES islands
)

# Satellite, international-network and premium destinations refused outright: prefix -> (name, list price).
BLOCKED: Final[Mapping[str, tuple[str, str]]] = {
    "870": ("Inmarsat", "5.9500"),
    "881": ("Global Mobile Satellite System", "4.2500"),
    "882": ("International Networks", "3.5000"),
    "883": ("International Networks", "1.9500"),
    "979": ("International Premium Rate Service", "2.5000"),
    "1900": ("NANP - Premium Rate", "1.5000"),
}

# Rates that depend on where the call starts: (destination prefix, origin selector, price).
# A ROW row replaces the destination's generic ALL row.
ORIGIN_RATES: Final = (
    ("447", "1", "0.0210"),  # UK mobiles from the US and Canada
    ("447", "ROW", "0.0650"),  # UK mobiles from anywhere else
    ("336", "33", "0.0120"),  # French mobiles from France
    ("337", "33", "0.0120"),
    ("52", "1", "0.0060"),  # Mexico from North America
    ("91", "971", "0.0080"),  # India from the United Arab Emirates
)

# Domestic deck: (country, prefix, name suffix, price; "" = free).
DOMESTIC: Final = (
    ("GB", "44", "", "0.0070"),
    ("GB", "447", " - Mobile", "0.0120"),
    ("GB", "44800", " - Freephone", ""),
    ("GB", "44808", " - Freephone", ""),
    ("FR", "33", "", "0.0060"),
    ("FR", "336", " - Mobile", "0.0110"),
    ("FR", "337", " - Mobile", "0.0110"),
    ("FR", "3380", " - Toll Free", ""),
    ("DE", "49", "", "0.0065"),
    ("DE", "4915", " - Mobile", "0.0130"),
    ("DE", "4916", " - Mobile", "0.0130"),
    ("DE", "4917", " - Mobile", "0.0130"),
    ("DE", "49800", " - Toll Free", ""),
    ("ES", "34", "", "0.0070"),
    ("ES", "346", " - Mobile", "0.0120"),
    ("ES", "347", " - Mobile", "0.0120"),
    ("ES", "34900", " - Toll Free", ""),
    ("US", "1800", " - Toll Free", ""),
    ("US", "1833", " - Toll Free", ""),
    ("US", "1844", " - Toll Free", ""),
    ("US", "1855", " - Toll Free", ""),
    ("US", "1866", " - Toll Free", ""),
    ("US", "1877", " - Toll Free", ""),
    ("US", "1888", " - Toll Free", ""),
)
DOMESTIC_AREA_CODES: Final = ("US",)  # also priced per area code (free), from the metadata
DOMESTIC_BLOCKED: Final = ("1900",)  # prefixes of BLOCKED the domestic deck refuses too

# EEA deck: a country's EEA rate is its international rate times pct/100, pct drawn from this range.
EEA_PERCENT: Final = (50, 80)

# Inbound per minute: country -> (increments, local, mobile, national, toll-free, toll-free from a mobile).
INBOUND: Final[Mapping[str, tuple[str, str, str, str, str, str]]] = {
    "US": ("6/6", "0.0040", "0.0040", "0.0060", "0.0180", "0.0220"),
    "CA": ("6/6", "0.0045", "0.0045", "0.0065", "0.0200", "0.0250"),
    "GB": ("60/60", "0.0030", "0.0100", "0.0050", "0.0350", "0.1200"),
    "FR": ("60/60", "0.0030", "0.0120", "0.0060", "0.0400", "0.1450"),
    "DE": ("60/60", "0.0035", "0.0150", "0.0060", "0.0450", "0.1800"),
    "AU": ("60/60", "0.0100", "0.0250", "0.0150", "0.0550", "0.2400"),
    "ES": ("60/60", "0.0040", "0.0150", "0.0070", "0.0420", "0.1500"),
    "NL": ("60/60", "0.0040", "0.0160", "0.0070", "0.0500", "0.1650"),
}

# SMS per message: (country, prefix, list price, price, inbound price).
SMS: Final = (
    ("US", "", "0.0079", "0.0079", "0.0079"),
    ("CA", "", "0.0079", "0.0075", "0.0079"),
    ("GB", "", "0.0400", "0.0400", "0.0000"),
    ("FR", "", "0.0750", "0.0720", "0.0000"),
    ("DE", "", "0.0850", "0.0850", "0.0000"),
    ("AU", "", "0.0520", "0.0520", "0.0000"),
    ("ES", "", "0.0700", "0.0700", "0.0000"),
    ("IT", "", "0.0800", "0.0780", "0.0000"),
    ("NL", "", "0.1000", "0.1000", "0.0000"),
    ("BR", "", "0.0450", "0.0450", "0.0000"),
    ("IN", "", "0.0085", "0.0085", "0.0000"),
    ("JP", "", "0.0750", "0.0750", "0.0000"),
    ("MX", "", "0.0500", "0.0480", "0.0000"),
    ("RU", "", "0.4500", "0.4500", "0.0000"),
    ("KZ", "", "0.1600", "0.1600", "0.0000"),
    ("KZ", "7705", "0.1900", "0.1900", "0.0000"),  # one operator's range costs more
)

# Phone numbers: (country, category, region, setup, monthly, list monthly).
NUMBERS: Final = (
    ("US", "local", "", "0.00", "1.00", "1.15"),
    ("US", "toll_free", "", "0.00", "2.00", "2.00"),
    ("CA", "local", "", "0.00", "1.00", "1.00"),
    ("CA", "toll_free", "", "0.00", "2.00", "2.00"),
    ("GB", "local", "London", "0.00", "1.50", "1.50"),
    ("GB", "local", "", "0.00", "1.20", "1.20"),
    ("GB", "mobile", "", "0.00", "3.00", "3.50"),
    ("GB", "toll_free", "", "5.00", "4.00", "4.00"),
    ("FR", "local", "Paris", "0.00", "1.80", "1.80"),
    ("FR", "local", "", "0.00", "1.50", "1.50"),
    ("FR", "mobile", "", "10.00", "6.00", "6.00"),
    ("FR", "toll_free", "", "15.00", "12.00", "12.00"),
    ("DE", "local", "Berlin", "0.00", "1.50", "1.50"),
    ("DE", "local", "", "0.00", "1.20", "1.20"),
    ("DE", "toll_free", "", "10.00", "10.00", "10.00"),
    ("AU", "local", "Sydney", "0.00", "3.00", "3.00"),
    ("AU", "mobile", "", "0.00", "6.50", "6.50"),
    ("AU", "toll_free", "", "5.00", "16.00", "16.00"),
)

# Usage resources: (resource, unit, quantity, list price, price).
RESOURCES: Final = (
    ("TTS_STANDARD", "character", 1_000_000, "16.0000", "16.0000"),
    ("TTS_NEURAL", "character", 1_000_000, "24.0000", "22.0000"),
    ("ASR", "second", 15, "0.0060", "0.0060"),
    ("RECORDING", "minute", 1, "0.0025", "0.0025"),
)
