"""What a charging step answers: an authorisation, a usage report's grant, a call's end."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from telebill.service.ports import CallRow


@dataclass(frozen=True, slots=True)
class Authorization:
    allowed: bool
    reason: str | None
    max_duration_s: int
    granted_until_s: int
    rate: Decimal
    currency: str
    free: bool
    call: CallRow


@dataclass(frozen=True, slots=True)
class Usage:
    proceed: bool
    granted_until_s: int
    charged: int
    call: CallRow


@dataclass(frozen=True, slots=True)
class CallEnd:
    charge: int
    billed_s: int
    balance: int
    call: CallRow
