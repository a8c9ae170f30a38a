"""Where a webhook may be delivered: a customer's URL never reaches the platform's own network."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from tests.conftest import T0
from tests.webhook_receiver import Receiver, receiving

from telebill.adapters.clock import FrozenClock
from telebill.adapters.notify import WebhookNotifier
from telebill.adapters.webhook_target import Target, WebhookRefused, pinned_target
from telebill.service.provider_ports import Notification


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data/",  # cloud instance metadata
        "http://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "http://100.64.0.1/hook",  # carrier-grade NAT
        "http://0.0.0.0/hook",
        "http://224.0.0.1/hook",
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
        "http://[fec0::1]/hook",  # site-local
        "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped
        "http://[::a00:5]/hook",  # IPv4-compatible 10.0.0.5
        "http://[64:ff9b::a9fe:a9fe]/hook",  # NAT64 of 169.254.169.254
        "http://[64:ff9b:1::a00:5]/hook",  # local-use NAT64 of 10.0.0.5
        "http://[2002:a00:5::1]/hook",  # 6to4 of 10.0.0.5
    ],
)
def test_a_webhook_to_a_private_or_local_address_is_refused(url: str) -> None:
    with pytest.raises(WebhookRefused, match="non-public address"):
        pinned_target(url)


def test_a_public_address_is_connected_to_as_resolved_with_the_original_host_and_server_name() -> None:
    assert pinned_target("https://93.184.215.14/hooks?x=1") == Target(
        ("https://93.184.215.14/hooks?x=1",), "93.184.215.14", "93.184.215.14"
    )
    assert pinned_target("http://user:pw@8.8.8.8:8443/h") == Target(
        ("http://user:pw@8.8.8.8:8443/h",), "8.8.8.8:8443", "8.8.8.8"
    )
    # a public IPv4 address through NAT64 (an IPv6-only host behind DNS64) is fine
    assert pinned_target("http://[64:ff9b::808:808]/h").urls == ("http://[64:ff9b::808:808]/h",)


def resolving_to(monkeypatch: pytest.MonkeyPatch, *addresses: str) -> list[str]:
    asked: list[str] = []

    def getaddrinfo(host: str, port: int, *_: Any, **__: Any) -> list[Any]:
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def test_an_international_name_is_resolved_and_sent_in_its_ascii_form(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = resolving_to(monkeypatch, "93.184.215.14")
    target = pinned_target("https://bücher.example:8443/hook")
    assert asked == ["xn--bcher-kva.example"]
    assert target == Target(("https://93.184.215.14:8443/hook",), "xn--bcher-kva.example:8443", "xn--bcher-kva.example")


def test_a_name_with_one_private_address_among_public_ones_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    resolving_to(monkeypatch, "93.184.215.14", "10.0.0.5")
    with pytest.raises(WebhookRefused, match=r"10\.0\.0\.5"):
        pinned_target("https://hooks.example/hook")


def test_a_host_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(WebhookRefused, match="does not resolve"):
        pinned_target("https://no-such-host.invalid/hook")


def test_private_receivers_are_allowed_when_configured() -> None:
    assert pinned_target("http://127.0.0.1:8080/hook", allow_private=True) == Target(
        ("http://127.0.0.1:8080/hook",), "127.0.0.1:8080", "127.0.0.1"
    )


def message(url: str) -> Notification:
    return Notification(1, "balance.low", "AC" + "0" * 32, T0, {"available": "1.00"}, url, "")


def test_the_notifier_refuses_before_sending_anything() -> None:
    with pytest.raises(WebhookRefused):
        WebhookNotifier(FrozenClock(T0)).deliver(message("http://127.0.0.1:9/hook"))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as running:
        yield running


def test_a_delivery_tries_the_next_address_when_one_refuses_the_connection(
    monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    resolving_to(monkeypatch, "127.0.0.3", "127.0.0.1")  # nothing listens on the first
    notifier = WebhookNotifier(FrozenClock(T0), allow_private=True)
    notifier.deliver(message(f"http://hooks.example:{receiver.port}/hook"))
    assert receiver.hosts == [f"hooks.example:{receiver.port}"]
