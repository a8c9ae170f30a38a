"""Notifier adapters: signed webhooks to the customer's URL, and a JSON log line for accounts
without one. Both raise on failure; the outbox worker owns retries.

Webhook deliveries (Stripe-style):

    POST <webhook_url>
    Content-Type: application/json
    Telebill-Event: balance.low
    Telebill-Delivery: 42
    Telebill-Signature: t=1772366400,v1=<64 hex digits>

    {"account_sid": "AC...", "created_at": "2026-03-01T12:00:00+00:00", "data": {...}, "id": 42,
     "topic": "balance.low"}

`v1` is the hex HMAC-SHA256, keyed with the account's `webhook_secret`, of the timestamp, a
dot and the raw body bytes (`f"{t}.{body}"`). A receiver recomputes it over the body exactly
as received, compares in constant time, and rejects timestamps too far from its own clock
(replays); `verify_signature` does all three. An account without a secret gets unsigned
deliveries (no `Telebill-Signature` header). Delivery is at least once: `Telebill-Delivery`
(the outbox id) stays the same across retries, so receivers can drop repeats. Any answer
other than 2xx, a redirect included, is a failure.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from urllib.parse import urlsplit

from telebill.adapters.webhook_target import pinned_target
from telebill.service.ports import Clock
from telebill.service.provider_ports import Notification

WEBHOOK_TIMEOUT_S = 10.0
SIGNATURE_TOLERANCE_S = 300
logger = logging.getLogger("telebill.notifications")


class WebhookRejected(Exception):
    """The receiver answered, but not with a 2xx."""


def check_webhook_url(url: str) -> str:
    """`url` if it can be a webhook target: http(s) with a host; raises ValueError otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"webhook URL must be http(s)://host/...: {url[:100]!r}")
    return url


def webhook_body(message: Notification) -> bytes:
    document = {
        "id": message.id,
        "topic": message.topic,
        "account_sid": message.account_sid,
        "created_at": message.created_at.isoformat(),
        "data": message.payload,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), default=str).encode()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The `Telebill-Signature` header value for `body` sent at `timestamp` (unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(header: str, body: bytes, secret: str, now: int, tolerance_s: int = SIGNATURE_TOLERANCE_S) -> bool:
    """The receiver's check: a `v1` signature of `body` under `secret`, made within
    `tolerance_s` of `now` (unix seconds)."""
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        fields.setdefault(name, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = sign(secret, timestamp, body).rpartition("v1=")[2]
    return any(hmac.compare_digest(expected, candidate) for candidate in fields.get("v1", []))


class WebhookNotifier:
    """POSTs a notification as JSON to the account's webhook URL, signed with its secret."""

    def __init__(self, clock: Clock, timeout_s: float = WEBHOOK_TIMEOUT_S, allow_private: bool = False) -> None:
        self._clock = clock
        self._timeout = timeout_s
        self._allow_private = allow_private

    def deliver(self, message: Notification) -> None:
        target = pinned_target(check_webhook_url(message.webhook_url), self._allow_private)
        body = webhook_body(message)
        headers = {
            "Content-Type": "application/json",
            "Telebill-Event": message.topic,
            "Telebill-Delivery": str(message.id),
            "Host": target.host_header,
        }
        if message.webhook_secret:
            headers["Telebill-Signature"] = sign(message.webhook_secret, int(self._clock.now().timestamp()), body)
        import httpx  # here, not at the top: every command builds this adapter, few deliver

        # The URL is the customer's: follow no redirect (the request goes to that URL only) and
        # ignore the environment (no proxy, no .netrc credentials sent to a customer's host).
        # Each checked address in turn, as a client would try a name's addresses.
        with httpx.Client(timeout=self._timeout, follow_redirects=False, trust_env=False) as client:
            for i, url in enumerate(target.urls):
                try:
                    response = client.post(
                        url, content=body, headers=headers, extensions={"sni_hostname": target.server_name}
                    )
                    break
                except httpx.ConnectError:
                    if i == len(target.urls) - 1:
                        raise
        if not response.is_success:
            raise WebhookRejected(
                f"HTTP {response.status_code} from {message.webhook_url[:100]}: {response.text[:200]}"
            )


class LogNotifier:
    """Writes a notification as one JSON line on the `telebill.notifications` logger."""

    def deliver(self, message: Notification) -> None:
        line = {
            "event": "notification",
            "id": message.id,
            "topic": message.topic,
            "account_sid": message.account_sid,
            "created_at": message.created_at.isoformat(),
            "data": message.payload,
        }
        logger.info(json.dumps(line, sort_keys=True, default=str))
