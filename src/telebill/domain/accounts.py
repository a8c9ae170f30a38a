"""Accounts, sub-accounts and API keys, and who may see what.

An account has a fixed currency and (optionally) a price plan. A sub-account has a parent;
a parent sees its sub-accounts' data, never the other way round, and accounts in different
trees never see each other. Team members reach an account through API keys with a role.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Final

from telebill.domain.errors import InvalidInput
from telebill.domain.money import Currency

ACCOUNT_SID: Final = re.compile(r"AC[0-9a-f]{32}")
KEY_SID: Final = re.compile(r"SK[0-9a-f]{32}")


class Role(Enum):
    """What a key holder may do. The account's own auth token acts as `admin`."""

    ADMIN = "admin"
    MANAGER = "manager"
    MEMBER = "member"


class KeyKind(Enum):
    SECRET = "secret"  # noqa: S105  (a kind name, not a password) HTTP Basic KeySid:KeySecret
    JWT = "jwt"  # RS256-signed bearer tokens (Voximplant service-account keys)


@dataclass(frozen=True, slots=True)
class Account:
    sid: str
    number: int  # the numeric id the Voximplant API speaks of
    name: str
    currency: Currency
    plan: str | None
    parent_sid: str | None
    created_at: datetime
    active: bool = True

    def __post_init__(self) -> None:
        if not ACCOUNT_SID.fullmatch(self.sid):
            raise InvalidInput(f"account sid {self.sid!r} must be AC followed by 32 hex digits")
        if not self.name.strip():
            raise InvalidInput("account name must not be empty")


@dataclass(frozen=True, slots=True)
class ApiKey:
    sid: str
    account_sid: str
    role: Role
    kind: KeyKind
    created_at: datetime
    revoked: bool = False


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: an account, acting with a role (the owner token is admin)."""

    account: Account
    role: Role
    key_sid: str | None = None

    def can_see(self, target: Account) -> bool:
        return target.sid == self.account.sid or target.parent_sid == self.account.sid
