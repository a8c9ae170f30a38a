"""The e-mail notifier: a notification as a plain-text message to the account's notify_email,
sent through the operator's SMTP server (`TELEBILL_SMTP_URL`, `TELEBILL_SMTP_FROM`).

Raises on any failure (connection, TLS, authentication, a recipient refused); the outbox worker
retries. Delivery is at least once, like a webhook's: the Message-ID is made from the outbox id,
so a message sent again after a failure that came too late is the same message.
"""

from __future__ import annotations

import json
import smtplib
import ssl
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import parse_qs, unquote, urlsplit

from telebill.service.provider_ports import Notification

SMTP_TIMEOUT_S = 10.0
_YES = frozenset({"true", "1", "yes"})
_NO = frozenset({"false", "0", "no"})
# lines up to RFC 5322's limit: a subject is not folded before its first word
_POLICY = policy.SMTP.clone(max_line_length=998)

# What a customer reads first; other topics fall back to the topic's name.
_SUBJECTS = {
    "balance.low": "Low balance: {available} {currency} available on account {account_sid}",
    "auto_recharge.declined": "Auto-recharge of {amount} declined on account {account_sid}",
    "auto_recharge.failed": "Auto-recharge of {amount} failed on account {account_sid}",
}


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    implicit_tls: bool  # smtps: TLS from the first byte
    starttls: bool
    username: str
    password: str = field(repr=False)

    @classmethod
    def parse(cls, url: str) -> SmtpServer:
        """smtp://[user:password@]host[:port][?starttls=true] or smtps://...; ValueError if not.
        A login needs TLS (smtps, or STARTTLS). The errors never repeat the URL: it may hold a
        password."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("smtp_url must be smtp://[user:password@]host[:port] or smtps://...")
        if parts.fragment or "#" in url:
            raise ValueError("smtp_url: write '#' in the user or password as %23")
        try:
            port = parts.port
        except ValueError:
            raise ValueError("smtp_url: the port is not a number (a ':' in the password is written %3A)") from None
        options = parse_qs(parts.query, keep_blank_values=True)
        unknown = set(options) - {"starttls"}
        if unknown:
            raise ValueError(f"smtp_url: unknown option {sorted(unknown)[0]!r} (known: starttls)")
        flag = options.get("starttls", ["false"])[-1].lower()
        if flag not in _YES | _NO:
            raise ValueError("smtp_url: starttls must be true or false")
        implicit, starttls = parts.scheme == "smtps", flag in _YES
        if implicit and starttls:
            raise ValueError("smtp_url: smtps is TLS from the first byte; starttls is for smtp://")
        if parts.username and not (implicit or starttls):
            raise ValueError("smtp_url: a login needs TLS (smtps://, or smtp://...?starttls=true)")
        return cls(
            host=parts.hostname,
            port=port or (465 if implicit else 25),
            implicit_tls=implicit,
            starttls=starttls,
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
        )


def message_of(notification: Notification, sender: str) -> EmailMessage:
    data = {k: v for k, v in notification.payload.items() if isinstance(v, str | int | float | bool)}
    template = _SUBJECTS.get(notification.topic)
    try:
        subject = template.format(**data) if template else f"telebill: {notification.topic}"
    except KeyError:
        subject = f"telebill: {notification.topic}"
    body = "\n".join(
        [
            f"{notification.topic} on account {notification.account_sid}",
            "",
            *(f"{key}: {value}" for key, value in sorted(notification.payload.items())),
            "",
            f"event {notification.id} at {notification.created_at.isoformat()}",
            json.dumps(notification.payload, sort_keys=True, default=str),
        ]
    )
    message = EmailMessage(policy=_POLICY)
    message["From"] = sender
    message["To"] = notification.email
    message["Subject"] = "".join(" " if not ch.isprintable() else ch for ch in subject)
    message["Date"] = format_datetime(notification.created_at)
    message["Message-ID"] = f"<telebill-event-{notification.id}@{sender.rpartition('@')[2] or 'telebill'}>"
    message["Telebill-Event"] = notification.topic
    message.set_content(body)
    return message


class EmailNotifier:
    def __init__(self, smtp_url: str, sender: str, timeout_s: float = SMTP_TIMEOUT_S) -> None:
        self._server = SmtpServer.parse(smtp_url)
        self._sender = sender
        self._timeout = timeout_s

    def deliver(self, message: Notification) -> None:
        if not message.email:
            raise ValueError(f"account {message.account_sid} has no notify_email")
        mail = message_of(message, self._sender)
        s = self._server
        context = ssl.create_default_context()
        client: smtplib.SMTP = (
            smtplib.SMTP_SSL(s.host, s.port, timeout=self._timeout, context=context)
            if s.implicit_tls
            else smtplib.SMTP(s.host, s.port, timeout=self._timeout)
        )
        with client:
            if s.starttls:
                client.starttls(context=context)
            if s.username:
                client.login(s.username, s.password)
            refused = client.send_message(mail)
        if refused:
            raise smtplib.SMTPRecipientsRefused(refused)
