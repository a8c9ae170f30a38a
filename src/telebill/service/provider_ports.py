"""Ports to the providers outside telebill that a customer's money and messages go through:
the payment provider that takes (or records) a payment, and the channels that deliver
notifications."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True, slots=True)
class PaymentResult:
    succeeded: bool
    provider: str
    reference: str
    reason: str = ""


class PaymentProvider(Protocol):
    """Takes money from the customer (card, bank transfer, manual entry)."""

    @property
    def collects_payment(self) -> bool:
        """`charge` takes the money from the customer (a card processor), who may then add funds
        themselves; else it records money received by other means, and only an operator may."""
        ...

    def charge(self, account_sid: str, amount: Decimal, currency: str, idempotency_key: str) -> PaymentResult: ...


@dataclass(frozen=True, slots=True)
class Notification:
    """One outbox message on its way to a customer: where it goes (the account's webhook, if
    any) and what it says. `id` is the outbox id, stable across retries (receivers dedupe by it)."""

    id: int
    topic: str
    account_sid: str
    created_at: datetime
    payload: dict[str, object]
    webhook_url: str = ""
    webhook_secret: str = ""
    email: str = ""  # the account's notify_email


class Notifier(Protocol):
    """Delivers a notification (webhook, log line, e-mail ...); raises on any failure, which
    the outbox worker retries later."""

    def deliver(self, message: Notification) -> None: ...
