"""What a customer is told of a failed delivery (notification_history.public_error): the kind
of failure, never the stored text, which may name internal hosts and addresses."""

from __future__ import annotations

import pytest

from telebill.service.notification_history import public_error


@pytest.mark.parametrize(
    ("stored", "told"),
    [
        (
            "WebhookRejected: HTTP 500 from https://example.com/hook: <html>stack trace</html>",
            "the webhook answered HTTP 500",
        ),
        (
            "WebhookRefused: webhook host 'db.internal' resolves to a non-public address (10.0.0.7)",
            "the webhook's host is not a public address",
        ),
        (
            "WebhookRefused: webhook host 'nope.example' does not resolve: [Errno -2] Name or service not known",
            "the webhook's host does not resolve",
        ),
        ("ConnectTimeout: timed out", "no answer in time"),
        ("ConnectError: [Errno 111] Connection refused", "could not connect"),
        ("ConnectionError: payment provider unreachable", "could not connect"),
        (
            "SMTPAuthenticationError: (535, b'5.7.8 Error: authentication failed')",
            "the mail server did not take the message",
        ),
        ('OperationalError: (psycopg.OperationalError) connection to server at "10.1.2.3" failed', "delivery failed"),
        ("worker stopped during the last attempt", "worker stopped during the last attempt"),
        ("", None),
    ],
)
def test_a_customer_is_told_the_kind_of_failure_only(stored: str, told: str | None) -> None:
    assert public_error(stored) == told
    if told is not None:
        assert "10." not in told
        assert "internal" not in told
