"""A real SMTP server on 127.0.0.1 (aiosmtpd) standing for the operator's mail server."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Mailbox:
    """What the server accepted: each message's envelope recipients and the message."""

    port: int
    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)  # recipients answered 550


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def mail_server(
    tls: ssl.SSLContext | None = None, implicit_tls: bool = False, login: tuple[str, str] | None = None
) -> Iterator[Mailbox]:
    """A server running until the block ends: STARTTLS offered (and required) with `tls`, or TLS
    from the first byte with `implicit_tls`; AUTH LOGIN/PLAIN required with `login`."""
    box = Mailbox(_free_port())

    class Handler:
        async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
            if address in box.refuse:
                return "550 no such user"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            parsed = message_from_bytes(envelope.content, policy=policy.default)
            assert isinstance(parsed, EmailMessage)
            box.messages.append((list(envelope.rcpt_tos), parsed))
            return "250 OK"

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        given = (data.login.decode(), data.password.decode()) if isinstance(data, LoginPassword) else None
        return AuthResult(success=login is not None and given == login, handled=False)

    options: dict[str, Any] = {}
    if login is not None:
        options.update(authenticator=authenticate, auth_required=True, auth_require_tls=tls is not None)
    if tls is not None and not implicit_tls:
        options.update(tls_context=tls, require_starttls=True)
    controller = Controller(
        Handler(), hostname="127.0.0.1", port=box.port, ssl_context=tls if implicit_tls else None, **options
    )
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
