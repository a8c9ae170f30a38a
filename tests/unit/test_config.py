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


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("smtp://ops:hun#ter2@mail.example", "write '#' in the user or password as %23"),
        ("smtp://ops:pw@mail.example", "a login needs TLS"),
        ("smtp://mail.example?starttls=on", "starttls must be true or false"),
        ("smtp://mail.example?tls=true", "unknown option 'tls'"),
        ("smtps://mail.example?starttls=true", "smtps is TLS from the first byte"),
        ("http://mail.example", "smtp_url must be smtp://"),
    ],
)
def test_a_mail_server_url_that_cannot_work_is_refused_without_repeating_it(url: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as refused:
        Settings(smtp_url=url, smtp_from="billing@telebill.example")
    assert "hun" not in str(refused.value)
    assert "pw@" not in str(refused.value)


def test_a_mail_server_needs_a_sender_address() -> None:
    with pytest.raises(ValidationError, match="smtp_from"):
        Settings(smtp_url="smtps://mail.example")
    url = "smtp://ops:s%23cret@mail.example:587?starttls=TRUE"
    good = Settings(smtp_url=url, smtp_from="billing@x.example")
    assert (good.smtp_url, good.smtp_from) == (url, "billing@x.example")
