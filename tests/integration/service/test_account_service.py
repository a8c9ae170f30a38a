from __future__ import annotations

import time
from datetime import timedelta

import jwt
import pytest

from telebill.adapters.clock import FrozenClock
from telebill.bootstrap import Container
from telebill.domain.accounts import ACCOUNT_SID, KeyKind, Role
from telebill.domain.errors import InvalidInput, NotFound, Unauthenticated
from telebill.domain.money import currency


def test_an_account_gets_a_twilio_style_sid_and_a_token_stored_only_as_a_hash(container: Container) -> None:
    new = container.accounts.create_account("acme", currency("usd"))
    assert ACCOUNT_SID.fullmatch(new.account.sid)
    assert len(new.auth_token) == 32
    with container.engine.connect() as conn:
        dump = "\n".join(str(row) for row in conn.exec_driver_sql("SELECT * FROM accounts"))
    assert new.auth_token not in dump
    assert container.accounts.authenticate_basic(new.account.sid, new.auth_token).role is Role.ADMIN


def test_a_wrong_token_or_unknown_sid_is_refused_the_same_way(container: Container) -> None:
    new = container.accounts.create_account("acme", currency("USD"))
    for user, password in [
        (new.account.sid, "0" * 32),
        ("AC" + "0" * 32, new.auth_token),
        ("nobody", new.auth_token),
        (new.account.sid, ""),
    ]:
        with pytest.raises(Unauthenticated, match=r"^authentication failed$"):
            container.accounts.authenticate_basic(user, password)


def test_keys_authenticate_with_their_role_until_revoked(container: Container) -> None:
    acct = container.accounts.create_account("acme", currency("USD"))
    key = container.accounts.create_key(acct.account.sid, Role.MANAGER)
    assert key.secret is not None
    principal = container.accounts.authenticate_basic(key.key.sid, key.secret)
    assert (principal.account.sid, principal.role) == (acct.account.sid, Role.MANAGER)
    container.accounts.revoke_key(key.key.sid)
    with pytest.raises(Unauthenticated):
        container.accounts.authenticate_basic(key.key.sid, key.secret)


def test_a_change_made_by_another_process_is_seen_once_the_cache_expires(
    container: Container, clock: FrozenClock
) -> None:
    acct = container.accounts.create_account("acme", currency("USD"))
    key = container.accounts.create_key(acct.account.sid, Role.MEMBER)
    assert key.secret is not None
    container.accounts.authenticate_basic(key.key.sid, key.secret)
    with container.engine.begin() as conn:  # another process revokes the key
        conn.exec_driver_sql(f"UPDATE api_keys SET revoked = true WHERE sid = '{key.key.sid}'")
    container.accounts.authenticate_basic(key.key.sid, key.secret)  # still cached
    clock.advance(timedelta(seconds=6))
    with pytest.raises(Unauthenticated):
        container.accounts.authenticate_basic(key.key.sid, key.secret)


def test_sub_accounts_are_visible_to_their_parent_only(container: Container) -> None:
    parent = container.accounts.create_account("parent", currency("USD"))
    child = container.accounts.create_account("child", currency("USD"), parent_sid=parent.account.sid)
    stranger = container.accounts.create_account("stranger", currency("USD"))
    p = container.accounts.authenticate_basic(parent.account.sid, parent.auth_token)
    c = container.accounts.authenticate_basic(child.account.sid, child.auth_token)
    assert container.accounts.visible_account(p, child.account.sid).sid == child.account.sid
    with pytest.raises(NotFound):
        container.accounts.visible_account(c, parent.account.sid)
    with pytest.raises(NotFound):
        container.accounts.visible_account(p, stranger.account.sid)
    assert {a.sid for a in container.accounts.visible_accounts(p)} == {parent.account.sid, child.account.sid}


def test_sub_accounts_do_not_nest_and_parents_must_exist(container: Container) -> None:
    parent = container.accounts.create_account("parent", currency("USD"))
    child = container.accounts.create_account("child", currency("USD"), parent_sid=parent.account.sid)
    with pytest.raises(InvalidInput):
        container.accounts.create_account("grandchild", currency("USD"), parent_sid=child.account.sid)
    with pytest.raises(NotFound):
        container.accounts.create_account("orphan", currency("USD"), parent_sid="AC" + "1" * 32)
    with pytest.raises(NotFound):
        container.accounts.create_account("planless", currency("USD"), plan="no-such-plan")


def _token(private_pem: str, kid: str, iss: str, lifetime: int = 24, iat_shift: int = -5) -> str:
    now = int(time.time())
    claims = {"iss": iss, "iat": now + iat_shift, "exp": now + iat_shift + lifetime}
    return jwt.encode(claims, private_pem, algorithm="RS256", headers={"kid": kid})


def test_jwt_keys_accept_the_owner_zero_or_a_sub_account_as_issuer(container: Container) -> None:
    parent = container.accounts.create_account("parent", currency("USD"))
    child = container.accounts.create_account("child", currency("USD"), parent_sid=parent.account.sid)
    stranger = container.accounts.create_account("stranger", currency("USD"))
    key = container.accounts.create_key(parent.account.sid, Role.ADMIN, KeyKind.JWT)
    assert key.private_key_pem is not None
    pem, kid = key.private_key_pem, key.key.sid
    auth = container.accounts.authenticate_jwt
    assert auth(_token(pem, kid, str(parent.account.number))).account.sid == parent.account.sid
    assert auth(_token(pem, kid, "0")).account.sid == parent.account.sid
    assert auth(_token(pem, kid, str(child.account.number))).account.sid == child.account.sid
    with pytest.raises(Unauthenticated):
        auth(_token(pem, kid, str(stranger.account.number)))
    with pytest.raises(Unauthenticated):
        auth(_token(pem, kid, "0", lifetime=7200))
    with pytest.raises(Unauthenticated):
        auth(_token(pem, kid, "0", iat_shift=-600))  # expired
    other = container.accounts.create_key(parent.account.sid, Role.ADMIN, KeyKind.JWT)
    assert other.private_key_pem is not None
    with pytest.raises(Unauthenticated):
        auth(_token(other.private_key_pem, kid, "0"))  # signed by another key
    container.accounts.revoke_key(kid)
    with pytest.raises(Unauthenticated):
        auth(_token(pem, kid, "0"))


def test_nobody_is_operator_unless_configured(container: Container) -> None:
    assert not container.accounts.is_operator("")
    assert not container.accounts.is_operator("anything")


def test_a_jwt_issuer_beyond_any_account_number_is_refused_not_a_crash(container: Container) -> None:
    owner = container.accounts.create_account("owner", currency("USD"))
    key = container.accounts.create_key(owner.account.sid, Role.ADMIN, KeyKind.JWT)
    assert key.private_key_pem is not None
    with pytest.raises(Unauthenticated):
        container.accounts.authenticate_jwt(_token(key.private_key_pem, key.key.sid, "99999999999999"))


def test_an_account_in_a_currency_its_plan_cannot_be_converted_to_is_refused(demo_container: Container) -> None:
    c = demo_container
    with pytest.raises(InvalidInput, match=r"^currency: plan 'demo' is priced in USD, and no exchange rate for KWD"):
        c.accounts.create_account("kuwait", currency("KWD"), "demo")
    assert all(a.currency.code != "KWD" for a in c.accounts.list_accounts())
    # without a plan there is nothing to convert; a plan is then refused the same way
    kwd = c.accounts.create_account("kuwait", currency("KWD")).account
    with pytest.raises(InvalidInput, match=r"^currency: .* KWD could make no call"):
        c.accounts.set_plan(kwd.sid, "demo")
    assert c.accounts.account(kwd.sid).plan is None
    assert c.accounts.set_plan(c.accounts.create_account("euro", currency("EUR")).account.sid, "demo").plan == "demo"


def test_an_account_in_its_plans_own_currency_needs_no_exchange_rate(demo_container: Container) -> None:
    c = demo_container
    with c.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM fx_rates")
    assert c.accounts.create_account("acme", currency("USD"), "demo").account.plan == "demo"
    with pytest.raises(InvalidInput, match="priced in USD, and no exchange rate for USD on or before"):
        c.accounts.create_account("euro", currency("EUR"), "demo")
