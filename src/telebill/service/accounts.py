"""Account use cases: accounts and sub-accounts, API keys, and authentication.

Credentials are random 128-bit (or larger) secrets, so a single SHA-256 is an adequate
one-way store; comparison is constant-time, and an unknown SID costs the same comparison
as a wrong secret so timing does not reveal which SIDs exist.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from telebill.domain.accounts import ACCOUNT_SID, KEY_SID, Account, ApiKey, KeyKind, Principal, Role
from telebill.domain.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from telebill.domain.money import Currency
from telebill.service.ports import Clock, JwtKeys, UnitOfWorkFactory

_DUMMY_HASH = hashlib.sha256(b"no such credential").hexdigest()


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def secret_matches(secret: str, stored_hash: str | None) -> bool:
    ok = hmac.compare_digest(hash_secret(secret), stored_hash or _DUMMY_HASH)
    return ok and stored_hash is not None


@dataclass(frozen=True, slots=True)
class NewAccount:
    account: Account
    auth_token: str  # shown once; only its hash is stored


@dataclass(frozen=True, slots=True)
class NewKey:
    key: ApiKey
    secret: str | None  # for secret keys, shown once
    private_key_pem: str | None  # for JWT keys, shown once


class AccountService:
    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, jwt_keys: JwtKeys, operator_token_hash: str | None
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._jwt = jwt_keys
        self._operator_hash = operator_token_hash

    # -- administration ------------------------------------------------------------------

    def create_account(
        self, name: str, currency: Currency, plan: str | None = None, parent_sid: str | None = None
    ) -> NewAccount:
        token = secrets.token_hex(16)
        with self._uow() as uow:
            if parent_sid is not None:
                parent = uow.accounts.get(parent_sid)
                if parent is None:
                    raise NotFound(f"parent account {parent_sid} does not exist")
                if parent.parent_sid is not None:
                    raise InvalidInput("a sub-account cannot have sub-accounts of its own")
            if plan is not None and uow.catalog.get_plan(plan) is None:
                raise NotFound(f"plan {plan!r} does not exist")
            account = Account(
                sid="AC" + secrets.token_hex(16),
                number=0,
                name=name.strip(),
                currency=currency,
                plan=plan,
                parent_sid=parent_sid,
                created_at=self._clock.now(),
            )
            stored = uow.accounts.add(account, hash_secret(token))
            uow.commit()
        return NewAccount(stored, token)

    def set_plan(self, sid: str, plan: str | None) -> Account:
        with self._uow() as uow:
            if uow.accounts.get(sid) is None:
                raise NotFound(f"account {sid} does not exist")
            if plan is not None and uow.catalog.get_plan(plan) is None:
                raise NotFound(f"plan {plan!r} does not exist")
            uow.accounts.set_plan(sid, plan)
            uow.commit()
            account = uow.accounts.get(sid)
        assert account is not None
        return account

    def create_key(self, account_sid: str, role: Role, kind: KeyKind = KeyKind.SECRET) -> NewKey:
        with self._uow() as uow:
            if uow.accounts.get(account_sid) is None:
                raise NotFound(f"account {account_sid} does not exist")
            key = ApiKey("SK" + secrets.token_hex(16), account_sid, role, kind, self._clock.now())
            if kind is KeyKind.SECRET:
                secret = secrets.token_urlsafe(32)
                uow.accounts.add_key(key, hash_secret(secret), None)
                result = NewKey(key, secret, None)
            else:
                private_pem, public_pem = self._jwt.generate()
                uow.accounts.add_key(key, None, public_pem)
                result = NewKey(key, None, private_pem)
            uow.commit()
        return result

    def revoke_key(self, key_sid: str) -> None:
        with self._uow() as uow:
            if uow.accounts.key(key_sid) is None:
                raise NotFound(f"key {key_sid} does not exist")
            uow.accounts.revoke_key(key_sid)
            uow.commit()

    def list_accounts(self) -> list[Account]:
        with self._uow() as uow:
            return uow.accounts.all()

    # -- authentication ------------------------------------------------------------------

    def authenticate_basic(self, username: str, password: str) -> Principal:
        """`AccountSid:AuthToken` (as admin) or `KeySid:KeySecret` (with the key's role)."""
        with self._uow() as uow:
            if ACCOUNT_SID.fullmatch(username):
                if secret_matches(password, uow.accounts.auth_token_hash(username)):
                    account = uow.accounts.get(username)
                    if account is not None and account.active:
                        return Principal(account, Role.ADMIN)
                raise Unauthenticated("authentication failed")
            if KEY_SID.fullmatch(username):
                found = uow.accounts.key(username)
                key, secret_hash = (found[0], found[1]) if found else (None, None)
                if secret_matches(password, secret_hash) and key is not None and not key.revoked:
                    account = uow.accounts.get(key.account_sid)
                    if account is not None and account.active:
                        return Principal(account, key.role, key.sid)
                raise Unauthenticated("authentication failed")
            secret_matches(password, None)
        raise Unauthenticated("authentication failed")

    def authenticate_jwt(self, token: str) -> Principal:
        """An RS256 token signed by a JWT key; `iss` may name the key's account, a sub-account
        of it, or be "0" (what the Voximplant SDK sends when configured without an account id)."""
        kid = self._jwt.key_id(token)
        with self._uow() as uow:
            found = uow.accounts.key(kid) if kid else None
            if found is None or found[0].revoked or found[2] is None:
                raise Unauthenticated("authentication failed")
            key, public_pem = found[0], found[2]
            claims = self._jwt.verify(token, public_pem)
            owner = uow.accounts.get(key.account_sid)
            if owner is None or not owner.active:
                raise Unauthenticated("authentication failed")
            iss = str(claims.get("iss", ""))
            if iss in ("0", str(owner.number)):
                return Principal(owner, key.role, key.sid)
            child = uow.accounts.by_number(int(iss)) if iss.isdigit() else None
            if child is not None and child.parent_sid == owner.sid and child.active:
                return Principal(child, key.role, key.sid)
        raise Unauthenticated("token issuer is not this key's account")

    def is_operator(self, token: str) -> bool:
        """Operator credentials come from configuration only; with none configured, nobody is."""
        return secret_matches(token, self._operator_hash)

    # -- visibility ----------------------------------------------------------------------

    def visible_account(self, principal: Principal, sid: str) -> Account:
        """`sid` if the principal may see it; NotFound otherwise (existence is not revealed)."""
        with self._uow() as uow:
            account = uow.accounts.get(sid)
        if account is None or not principal.can_see(account):
            raise NotFound(f"account {sid} was not found")
        return account

    def visible_accounts(self, principal: Principal) -> list[Account]:
        with self._uow() as uow:
            return [principal.account, *uow.accounts.children(principal.account.sid)]

    @staticmethod
    def require_role(principal: Principal, *roles: Role) -> None:
        if principal.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise Forbidden(f"this needs the role {allowed}; the caller has {principal.role.value}")
