"""E-mail notifications through a real SMTP server: plain, STARTTLS with a login, TLS from the
first byte; a refused recipient and a server that is down are failures the worker retries."""

from __future__ import annotations

import smtplib
import ssl
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.smtp_receiver import mail_server
from tests.tls import self_signed

from telebill.adapters.email_notify import EmailNotifier, SmtpServer
from telebill.service.provider_ports import Notification

ALERT = Notification(
    42, "balance.low", "AC" + "0" * 32, datetime(2026, 3, 1, 12, tzinfo=UTC),
    {"account_sid": "AC" + "0" * 32, "currency": "USD", "available": "4.20", "threshold": "5.00"},
    email="billing@customer.example",
)  # fmt: skip


def server_context(tmp_path: Path) -> ssl.SSLContext:
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def test_a_low_balance_alert_reaches_the_accounts_address_as_a_readable_message() -> None:
    with mail_server() as box:
        EmailNotifier(f"smtp://127.0.0.1:{box.port}", "billing@telebill.example").deliver(ALERT)
    [(recipients, message)] = box.messages
    assert recipients == ["billing@customer.example"]
    assert message["From"] == "billing@telebill.example"
    assert message["Subject"] == f"Low balance: 4.20 USD available on account {'AC' + '0' * 32}"
    assert message["Message-ID"] == "<telebill-event-42@telebill.example>"
    assert message["Telebill-Event"] == "balance.low"
    body = message.get_content()
    assert "available: 4.20" in body
    assert "threshold: 5.00" in body


def test_starttls_and_a_login_are_used_when_the_url_asks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    context = server_context(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "cert.pem"))  # trust the test server's certificate
    with mail_server(tls=context, login=("telebill", "s3cret/+")) as box:
        url = f"smtp://telebill:s3cret%2F%2B@127.0.0.1:{box.port}?starttls=true"
        EmailNotifier(url, "billing@telebill.example").deliver(ALERT)
        with pytest.raises(smtplib.SMTPAuthenticationError):
            EmailNotifier(url.replace("s3cret", "wrong"), "billing@telebill.example").deliver(ALERT)
        with pytest.raises(smtplib.SMTPException):  # the server requires STARTTLS
            EmailNotifier(f"smtp://127.0.0.1:{box.port}", "billing@telebill.example").deliver(ALERT)
    assert len(box.messages) == 1


def test_smtps_speaks_tls_from_the_first_byte_and_checks_the_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    context = server_context(tmp_path)
    with mail_server(tls=context, implicit_tls=True) as box:
        with pytest.raises(ssl.SSLCertVerificationError):
            EmailNotifier(f"smtps://127.0.0.1:{box.port}", "billing@telebill.example").deliver(ALERT)
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "cert.pem"))
        EmailNotifier(f"smtps://127.0.0.1:{box.port}", "billing@telebill.example").deliver(ALERT)
    assert [r for r, _ in box.messages] == [["billing@customer.example"]]


def test_a_refused_recipient_or_a_server_that_is_down_is_a_failure() -> None:
    with mail_server() as box:
        box.refuse.add("billing@customer.example")
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            EmailNotifier(f"smtp://127.0.0.1:{box.port}", "billing@telebill.example").deliver(ALERT)
        port = box.port
    with pytest.raises(ConnectionRefusedError):
        EmailNotifier(f"smtp://127.0.0.1:{port}", "billing@telebill.example", timeout_s=2).deliver(ALERT)


def test_the_server_url_is_read_exactly() -> None:
    assert SmtpServer.parse("smtps://mail.example") == SmtpServer("mail.example", 465, True, False, "", "")
    assert SmtpServer.parse("smtp://u%40x:p%3Aw@mail.example:587?starttls=1") == SmtpServer(
        "mail.example", 587, False, True, "u@x", "p:w"
    )
    with pytest.raises(ValueError, match="smtp_url must be smtp://"):
        SmtpServer.parse("http://mail.example")
    assert "p:w" not in repr(SmtpServer.parse("smtps://u:p%3Aw@mail.example"))
