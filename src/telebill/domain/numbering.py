"""Numbering: E.164 parsing and normalisation, country and number type, emergency numbers.

Accepted spellings of one number: `+33 6 12-34-56-78`, `0033612345678`, `33612345678`
(international digits without a plus), and national format (`06 12 34 56 78`) when a
default country is given. Classification uses the `phonenumbers` metadata.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import Final

import phonenumbers
from phonenumbers import PhoneNumberType, shortnumberinfo

from telebill.domain.errors import InvalidNumber

_SEPARATORS: Final = re.compile(r"[\s\-./()\u00a0]")
_DIGITS: Final = re.compile(r"\d{1,15}")


class NumberType(Enum):
    """The kind of line a number belongs to, as the price lists name them."""

    FIXED_LINE = "fixed_line"
    MOBILE = "mobile"
    FIXED_LINE_OR_MOBILE = "fixed_line_or_mobile"
    TOLL_FREE = "toll_free"
    PREMIUM_RATE = "premium_rate"
    SHARED_COST = "shared_cost"
    VOIP = "voip"
    PERSONAL_NUMBER = "personal_number"
    PAGER = "pager"
    UAN = "uan"
    VOICEMAIL = "voicemail"
    UNKNOWN = "unknown"


_TYPE_MAP: Final = {
    PhoneNumberType.FIXED_LINE: NumberType.FIXED_LINE,
    PhoneNumberType.MOBILE: NumberType.MOBILE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE: NumberType.FIXED_LINE_OR_MOBILE,
    PhoneNumberType.TOLL_FREE: NumberType.TOLL_FREE,
    PhoneNumberType.PREMIUM_RATE: NumberType.PREMIUM_RATE,
    PhoneNumberType.SHARED_COST: NumberType.SHARED_COST,
    PhoneNumberType.VOIP: NumberType.VOIP,
    PhoneNumberType.PERSONAL_NUMBER: NumberType.PERSONAL_NUMBER,
    PhoneNumberType.PAGER: NumberType.PAGER,
    PhoneNumberType.UAN: NumberType.UAN,
    PhoneNumberType.VOICEMAIL: NumberType.VOICEMAIL,
}


class EmergencyNumber(InvalidNumber):
    """An emergency short code (112, 911, ...): never routed or priced as a VoIP call."""

    def __init__(self, text: str, region: str) -> None:
        super().__init__(text, f"emergency number in {region}; use the native dialer")
        self.region = region


@dataclass(frozen=True, slots=True)
class PhoneNumber:
    """A normalised number: E.164 with a plus, its country (ISO alpha-2) and type."""

    e164: str
    country: str | None
    number_type: NumberType

    @property
    def digits(self) -> str:
        return self.e164[1:]

    def __str__(self) -> str:
        return self.e164


def normalise_region(region: str | None) -> str | None:
    if region is None:
        return None
    upper = region.strip().upper()
    if len(upper) != 2 or not upper.isalpha():
        raise InvalidNumber(region, "default country must be an ISO 3166 alpha-2 code")
    return upper


def parse_number(text: str, default_country: str | None = None) -> PhoneNumber:
    """Parse and classify `text`; InvalidNumber naming the input when it is not a number.

    An emergency short code of `default_country` raises EmergencyNumber. Results are
    memoised: classification walks the numbering metadata's patterns and dominates the
    cost of pricing a call, and the same numbers come back again and again.
    """
    if not isinstance(text, str):
        raise InvalidNumber(repr(text), "a phone number must be text")
    return _parse(text, normalise_region(default_country))


@lru_cache(maxsize=65_536)
def _parse(text: str, region: str | None) -> PhoneNumber:
    compact = _SEPARATORS.sub("", text)
    if not compact:
        raise InvalidNumber(text, "empty")
    if region and compact.isdigit() and shortnumberinfo.is_emergency_number(compact, region):
        raise EmergencyNumber(text, region)
    candidates = _candidates(compact, region)
    if not candidates:
        raise InvalidNumber(text, "only digits, an optional leading + or 00, and separators")
    parsed = None
    for candidate, cand_region in candidates:
        try:
            number = phonenumbers.parse(candidate, cand_region)
        except phonenumbers.NumberParseException as exc:
            reason = str(exc).split(")", 1)[-1].strip() or "not a phone number"
            parsed = parsed or reason
            continue
        if phonenumbers.is_possible_number(number):
            return _classify(number)
        parsed = parsed or "wrong length for its country"
    raise InvalidNumber(text, parsed if isinstance(parsed, str) else "not a phone number")


def _candidates(compact: str, region: str | None) -> list[tuple[str, str | None]]:
    if compact.startswith("+"):
        body = compact[1:]
        return [(compact, None)] if body.isdigit() else []
    if not compact.isdigit():
        return []
    if compact.startswith("00"):
        return [("+" + compact[2:], None)]
    out: list[tuple[str, str | None]] = []
    if region:
        out.append((compact, region))
    out.append(("+" + compact, None))
    return out


def _classify(number: phonenumbers.PhoneNumber) -> PhoneNumber:
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    region = phonenumbers.region_code_for_number(number)
    if region in (None, "ZZ", "001"):
        region = phonenumbers.region_code_for_country_code(number.country_code or 0)
    country = region if region not in (None, "ZZ", "001") else None
    number_type = _TYPE_MAP.get(phonenumbers.number_type(number), NumberType.UNKNOWN)
    return PhoneNumber(e164, country, number_type)


def e164_digits(text: str) -> str:
    """Digits of an already-international number (`+` optional), validated only for shape.

    This is the fast path for prefix lookups of numbers that were normalised upstream.
    """
    compact = _SEPARATORS.sub("", text)
    if compact.startswith("+"):
        compact = compact[1:]
    elif compact.startswith("00"):
        compact = compact[2:]
    if not _DIGITS.fullmatch(compact) or compact[0] == "0":
        raise InvalidNumber(text, "expected 1 to 15 digits of an international number")
    return compact


def is_emergency(text: str, country: str) -> bool:
    """Whether `text` dialled in `country` reaches emergency services."""
    compact = _SEPARATORS.sub("", text)
    region = normalise_region(country)
    return bool(region and compact.isdigit() and shortnumberinfo.is_emergency_number(compact, region))
