import pytest

from telebill.domain.errors import InvalidNumber
from telebill.domain.numbering import EmergencyNumber, NumberType, e164_digits, is_emergency, parse_number


@pytest.mark.parametrize("text", ["+33 6 12-34-56-78", "0033612345678", "33612345678", "+33.6.12.34.56.78"])
def test_international_spellings_normalise_to_one_e164(text: str) -> None:
    number = parse_number(text)
    assert number.e164 == "+33612345678"
    assert number.country == "FR"
    assert number.number_type is NumberType.MOBILE


def test_national_format_needs_a_default_country() -> None:
    assert parse_number("06 12 34 56 78", "FR").e164 == "+33612345678"
    assert parse_number("020 7946 0018", "gb").country == "GB"


def test_country_code_shared_by_several_countries_resolves_the_country() -> None:
    assert parse_number("+1 416 555 0100").country == "CA"
    assert parse_number("+1 415 555 0100").country == "US"
    assert parse_number("+7 701 123 4567").country == "KZ"
    assert parse_number("+7 912 345 6789").country == "RU"


def test_toll_free_numbers_are_typed() -> None:
    assert parse_number("+1 800 555 0100").number_type is NumberType.TOLL_FREE


@pytest.mark.parametrize("text", ["", "abc", "12", "+33 6 12 34 56 78 90 12 34", "++33612345678"])
def test_invalid_input_raises_an_error_naming_the_input(text: str) -> None:
    with pytest.raises(InvalidNumber) as info:
        parse_number(text)
    assert repr(text) in str(info.value)


@pytest.mark.parametrize(("text", "country"), [("911", "US"), ("112", "FR"), ("999", "GB"), ("112", "DE")])
def test_emergency_numbers_are_detected(text: str, country: str) -> None:
    assert is_emergency(text, country)
    with pytest.raises(EmergencyNumber):
        parse_number(text, country)


def test_ordinary_numbers_are_not_emergency_numbers() -> None:
    assert not is_emergency("0612345678", "FR")


def test_fast_digit_path_accepts_only_international_digits() -> None:
    assert e164_digits("+44 20 7946 0018") == "442079460018"
    assert e164_digits("0044 20") == "4420"
    with pytest.raises(InvalidNumber):
        e164_digits("0207946")
    with pytest.raises(InvalidNumber):
        e164_digits("1234567890123456")
