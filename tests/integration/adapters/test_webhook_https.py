"""A webhook over HTTPS to a real TLS server: the connection goes to the checked address, and
the certificate is verified against the name in the customer's URL, not against the address."""

from __future__ import annotations

import functools
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import T0
from tests.tls import self_signed
from tests.webhook_receiver import Receiver, receiving

from telebill.adapters.clock import FrozenClock
from telebill.adapters.notify import WebhookNotifier
from telebill.service.provider_ports import Notification


@pytest.fixture
def tls_receiver(tmp_path: Path) -> Iterator[tuple[Receiver, Path]]:
    """An HTTPS receiver on 127.0.0.1 whose certificate names `hooks.example`, and that certificate."""
    cert, key = self_signed(tmp_path, "hooks.example")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with receiving(context) as running:
        yield running, cert


@pytest.fixture
def resolving_to_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    def getaddrinfo(host: str, port: int, *_: Any, **__: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def trusting(monkeypatch: pytest.MonkeyPatch, cert: Path) -> None:
    """httpx clients trust the test certificate (as a receiver's public CA would be)."""
    monkeypatch.setattr(
        httpx, "Client", functools.partial(httpx.Client, verify=ssl.create_default_context(cafile=cert))
    )


def message(url: str) -> Notification:
    return Notification(7, "balance.low", "AC" + "0" * 32, T0, {"available": "1.00"}, url, "secret")


@pytest.mark.usefixtures("resolving_to_loopback")
def test_a_webhook_over_https_verifies_the_certificate_of_the_name_it_was_given(
    monkeypatch: pytest.MonkeyPatch, tls_receiver: tuple[Receiver, Path]
) -> None:
    receiver, cert = tls_receiver
    port = receiver.port
    trusting(monkeypatch, cert)
    notifier = WebhookNotifier(FrozenClock(T0), allow_private=True)
    notifier.deliver(message(f"https://hooks.example:{port}/hook"))
    assert receiver.hosts == [f"hooks.example:{port}"]
    # the same server under another name: its certificate does not name it, so no delivery
    with pytest.raises(httpx.ConnectError, match="certificate"):
        notifier.deliver(message(f"https://other.example:{port}/hook"))
    assert receiver.hosts == [f"hooks.example:{port}"]
