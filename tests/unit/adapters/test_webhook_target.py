"""Where a webhook may be delivered: a customer's URL never reaches the platform's own network."""

from __future__ import annotations

import pytest
from tests.conftest import T0

from telebill.adapters.clock import FrozenClock
from telebill.adapters.notify import WebhookNotifier, WebhookRefused, pinned_target
from telebill.service.ports import Notification


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
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",  # IPv4 loopback written as IPv6
        "http://224.0.0.1/hook",
    ],
)
def test_a_webhook_to_a_private_or_local_address_is_refused(url: str) -> None:
    with pytest.raises(WebhookRefused, match="non-public address"):
        pinned_target(url)


def test_a_public_address_is_connected_to_as_resolved_with_the_original_host_and_server_name() -> None:
    assert pinned_target("https://93.184.215.14/hooks?x=1") == (
        "https://93.184.215.14/hooks?x=1",
        "93.184.215.14",
        "93.184.215.14",
    )
    url, host, sni = pinned_target("http://user:pw@8.8.8.8:8443/h")
    assert (url, host, sni) == ("http://user:pw@8.8.8.8:8443/h", "8.8.8.8:8443", "8.8.8.8")


def test_a_host_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(WebhookRefused, match="does not resolve"):
        pinned_target("https://no-such-host.invalid/hook")


def test_private_receivers_are_allowed_when_configured() -> None:
    assert pinned_target("http://127.0.0.1:8080/hook", allow_private=True) == (
        "http://127.0.0.1:8080/hook",
        "127.0.0.1:8080",
        "127.0.0.1",
    )


def test_the_notifier_refuses_before_sending_anything() -> None:
    message = Notification(1, "balance.low", "AC" + "0" * 32, T0, {"available": "1.00"}, "http://127.0.0.1:9/hook", "")
    with pytest.raises(WebhookRefused):
        WebhookNotifier(FrozenClock(T0)).deliver(message)
