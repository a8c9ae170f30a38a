"""Payment providers: the built-in one records manual and bank payments (the money arrived
by other means; an operator enters it), and a scripted one for tests and demos declines on
demand."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from decimal import Decimal

from telebill.service.provider_ports import PaymentResult


class ManualPayments:
    """Accepts every payment: an operator records money already received. It takes no money
    from anyone, so customers cannot add funds through it (CreditService.top_up)."""

    name = "manual"
    collects_payment = False

    def charge(self, account_sid: str, amount: Decimal, currency: str, idempotency_key: str) -> PaymentResult:
        return PaymentResult(True, self.name, f"manual:{idempotency_key}")


@dataclass
class ScriptedPayments:
    """Succeeds unless told to decline: `decline_next(n)` or `decline_accounts` ("card
    declined"). Records every charge it was asked for."""

    collects_payment = True  # stands for a card processor
    declines_left: int = 0
    decline_accounts: set[str] = field(default_factory=set)
    charges: list[tuple[str, Decimal, str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def decline_next(self, count: int = 1) -> None:
        with self._lock:
            self.declines_left += count

    def charge(self, account_sid: str, amount: Decimal, currency: str, idempotency_key: str) -> PaymentResult:
        with self._lock:
            self.charges.append((account_sid, amount, currency, idempotency_key))
            if account_sid in self.decline_accounts or self.declines_left > 0:
                self.declines_left = max(0, self.declines_left - 1)
                return PaymentResult(False, "scripted", f"scripted:{idempotency_key}", "card declined")
        return PaymentResult(True, "scripted", f"scripted:{idempotency_key}")
