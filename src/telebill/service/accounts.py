"""Account use cases: accounts and sub-accounts, API keys, and authentication.

Credentials are random 128-bit (or larger) secrets, so a single SHA-256 is an adequate
one-way store; comparison is constant-time, and an unknown SID costs the same comparison
as a wrong secret so timing does not reveal which SIDs exist.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from telebill.domain.accounts import ACCOUNT_SID, KEY_SID, Account, ApiKey, KeyKind, Principal, Role
from telebill.domain.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from telebill.domain.money import Currency
from telebill.service.ports import Clock, JwtKeys, UnitOfWorkFactory
from telebill.service.ttl_cache import TtlCache

_DUMMY_HASH = hashlib.sha256(b"no such credential").hexdigest()
_MAX_ACCOUNT_NUMBER = 2**31 - 1  # account numbers are 32-bit integers in the database


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def secret_matches(secret: str, stored_hash: str | None) -> bool:
    ok = hmac.compare_digest(hash_secret(secret), stored_hash or _DUMMY_HASH)
    return ok and stored_hash is not None


@dataclass(frozen=True, slots=True)
class _Credential:
    """What authenticating one SID needs: the stored hash and whom it stands for."""

    secret_hash: str | None
    account: Account | None
    key: ApiKey | None
    public_key_pem: str | None


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
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        jwt_keys: JwtKeys,
        operator_token_hash: str | None,
        cache_ttl_s: float = 5.0,
        currency_check: Callable[[str, Currency], None] | None = None,
    ) -> None:
        """`currency_check(plan, currency)` refuses an account currency that a plan's prices
        cannot be converted to (PricingService.check_currency)."""
        self._uow = uow
        self._currency_check = currency_check
        self._clock = clock
        self._jwt = jwt_keys
        self._operator_hash = operator_token_hash
        # credential lookups on the request path; changes made here invalidate at once,
        # changes made by another process are seen within `cache_ttl_s`
        self._credentials: TtlCache[str, _Credential | None] = TtlCache(clock, cache_ttl_s)

    # -- administration ------------------------------------------------------------------

    def create_account(
        self, name: str, currency: Currency, plan: str | None = None, parent_sid: str | None = None
    ) -> NewAccount:
        token = secrets.token_hex(16)
        if plan is not None and self._currency_check is not None:
            self._currency_check(plan, currency)  # reads the catalog in units of work of its own
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
            found = uow.accounts.get(sid)
            if found is None:
                raise NotFound(f"account {sid} does not exist")
            if plan is not None and uow.catalog.get_plan(plan) is None:
                raise NotFound(f"plan {plan!r} does not exist")
        if plan is not None and self._currency_check is not None:
            self._currency_check(plan, found.currency)
        with self._uow() as uow:
            if uow.accounts.get(sid) is None:
                raise NotFound(f"account {sid} does not exist")
            uow.accounts.set_plan(sid, plan)
            uow.commit()
            account = uow.accounts.get(sid)
        self._credentials.invalidate()
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
        self._credentials.invalidate(key_sid)

    def list_accounts(self) -> list[Account]:
        with self._uow() as uow:
            return uow.accounts.all()

    # -- authentication ------------------------------------------------------------------

    def _credential(self, sid: str) -> _Credential | None:
        with self._uow() as uow:
            if ACCOUNT_SID.fullmatch(sid):
                account = uow.accounts.get(sid)
                if account is None:
                    return None
                return _Credential(uow.accounts.auth_token_hash(sid), account, None, None)
            found = uow.accounts.key(sid)
            if found is None:
                return None
            key, secret_hash, public_pem = found
            return _Credential(secret_hash, uow.accounts.get(key.account_sid), key, public_pem)

    def authenticate_basic(self, username: str, password: str) -> Principal:
        """`AccountSid:AuthToken` (as admin) or `KeySid:KeySecret` (with the key's role)."""
        known = ACCOUNT_SID.fullmatch(username) or KEY_SID.fullmatch(username)
        cred = self._credentials.get(username, lambda: self._credential(username)) if known else None
        matches = secret_matches(password, cred.secret_hash if cred else None)
        if cred is None or not matches or cred.account is None or not cred.account.active:
            raise Unauthenticated("authentication failed")
        if cred.key is None:
            return Principal(cred.account, Role.ADMIN)
        if cred.key.revoked:
            raise Unauthenticated("authentication failed")
        return Principal(cred.account, cred.key.role, cred.key.sid)

    def authenticate_jwt(self, token: str) -> Principal:
        """An RS256 token signed by a JWT key; `iss` may name the key's account, a sub-account
        of it, or be "0" (what the Voximplant SDK sends when configured without an account id)."""
        kid = self._jwt.key_id(token)
        cred = None
        if kid and KEY_SID.fullmatch(kid):
            cred = self._credentials.get(kid, lambda: self._credential(kid))
        if cred is None or cred.key is None or cred.key.revoked or cred.public_key_pem is None:
            raise Unauthenticated("authentication failed")
        claims = self._jwt.verify(token, cred.public_key_pem)
        owner = cred.account
        if owner is None or not owner.active:
            raise Unauthenticated("authentication failed")
        iss = str(claims.get("iss", ""))
        if iss in ("0", str(owner.number)):
            return Principal(owner, cred.key.role, cred.key.sid)
        if iss.isascii() and iss.isdigit() and int(iss) <= _MAX_ACCOUNT_NUMBER:
            with self._uow() as uow:
                child = uow.accounts.by_number(int(iss))
            if child is not None and child.parent_sid == owner.sid and child.active:
                return Principal(child, cred.key.role, cred.key.sid)
        raise Unauthenticated("token issuer is not this key's account")

    def is_operator(self, token: str) -> bool:
        """Operator credentials come from configuration only; with none configured, nobody is."""
        return secret_matches(token, self._operator_hash)

    # -- visibility ----------------------------------------------------------------------

    def visible_account(self, principal: Principal, sid: str) -> Account:
        """`sid` if the principal may see it; NotFound otherwise (existence is not revealed).
        A principal's own account is the one it was authenticated with (as fresh as the
        credential cache); another one is read."""
        if sid == principal.account.sid:
            return principal.account
        with self._uow() as uow:
            account = uow.accounts.get(sid)
        if account is None or not principal.can_see(account):
            raise NotFound(f"account {sid} was not found")
        return account

    def account(self, sid: str) -> Account:
        """Any account, by its sid: for the operator, who sees them all."""
        with self._uow() as uow:
            account = uow.accounts.get(sid)
        if account is None:
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
