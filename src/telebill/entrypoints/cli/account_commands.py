"""`telebill accounts`, `telebill keys` and `telebill fx`: accounts, credentials, exchange rates."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from telebill.adapters.fx.ecb_csv import read_ecb_csv
from telebill.domain.accounts import KeyKind, Role
from telebill.domain.money import currency, format_micros
from telebill.entrypoints.cli.context import container

accounts_app = typer.Typer(help="Accounts and sub-accounts.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys for team members and services.", no_args_is_help=True)
fx_app = typer.Typer(help="Exchange rates (ECB reference rates).", no_args_is_help=True)


@accounts_app.command("create")
def create_account(
    name: Annotated[str, typer.Option("--name", help="Account name.")],
    currency_code: Annotated[str, typer.Option("--currency", help="ISO 4217; fixed for life.")],
    plan: Annotated[str | None, typer.Option("--plan", help="Price plan name.")] = None,
    parent: Annotated[str | None, typer.Option("--parent", help="Parent account SID.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create an account. Its auth token is printed once and stored only as a hash."""
    with container() as c:
        new = c.accounts.create_account(name, currency(currency_code), plan, parent)
    if as_json:
        typer.echo(json.dumps({"sid": new.account.sid, "auth_token": new.auth_token}))
        return
    typer.echo(f"account {new.account.sid} ({new.account.name}, {new.account.currency})")
    typer.echo(f"auth token (shown once): {new.auth_token}")


@accounts_app.command("list")
def list_accounts(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    with container() as c:
        accounts = c.accounts.list_accounts()
    for a in accounts:
        row = {
            "sid": a.sid,
            "number": a.number,
            "name": a.name,
            "currency": a.currency.code,
            "plan": a.plan,
            "parent_sid": a.parent_sid,
        }
        typer.echo(json.dumps(row) if as_json else "\t".join(str(v or "") for v in row.values()))


@accounts_app.command("set-plan")
def set_plan(
    sid: Annotated[str, typer.Argument(help="Account SID.")],
    plan: Annotated[str, typer.Argument(help="Price plan name.")],
) -> None:
    with container() as c:
        account = c.accounts.set_plan(sid, plan)
    typer.echo(f"account {account.sid} now on plan {account.plan}")


_FLAGS = {"true": True, "false": False}


@accounts_app.command("settings")
def account_settings(
    sid: Annotated[str, typer.Argument(help="Account SID.")],
    changes: Annotated[
        list[str] | None,
        typer.Argument(
            help="NAME=VALUE to change: billing_address, vat_number, policy (cut_off|allow_negative), "
            "credit_limit, low_balance_threshold, auto_recharge_enabled (true|false), auto_recharge_threshold, "
            "auto_recharge_amount, suspended (true|false), webhook_url, webhook_secret, notify_email. Money in "
            "the account currency (e.g. 5.00)."
        ),
    ] = None,
) -> None:
    """Show an account's balance and billing settings; with NAME=VALUE arguments, change them
    first (all or none)."""
    values: dict[str, object] = {}
    for item in changes or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise typer.BadParameter(f"{item!r}: expected NAME=VALUE", param_hint="CHANGES")
        name = name.strip()
        flag = name in ("auto_recharge_enabled", "suspended")
        if flag and value.strip().lower() not in _FLAGS:
            raise typer.BadParameter(f"{name}: true or false", param_hint="CHANGES")
        values[name] = _FLAGS[value.strip().lower()] if flag else value
    with container() as c:
        account = c.accounts.account(sid)
        b = c.credits.update_settings(account, values) if values else c.credits.balance(account)
    money = {"balance": b.balance, "holds": b.holds, "available": b.available}
    s = b.settings
    money |= {
        "credit_limit": s.credit_limit,
        "low_balance_threshold": s.low_balance_threshold,
        "auto_recharge_threshold": s.auto_recharge_threshold,
        "auto_recharge_amount": s.auto_recharge_amount,
    }
    shown: dict[str, object] = {k: format_micros(v, account.currency) for k, v in money.items()}
    shown |= {
        "currency": account.currency.code,
        "policy": s.policy.value,
        "auto_recharge_enabled": s.auto_recharge_enabled,
        "suspended": s.suspended,
        "billing_address": s.billing_address,
        "vat_number": s.vat_number,
        "webhook_url": s.webhook_url,
        "notify_email": s.notify_email,
    }
    typer.echo(json.dumps({"sid": account.sid, **shown}))


@keys_app.command("create")
def create_key(
    account: Annotated[str, typer.Option("--account", help="Account SID.")],
    role: Annotated[Role, typer.Option("--role", help="admin, manager or member.")] = Role.MEMBER,
    kind: Annotated[KeyKind, typer.Option("--kind", help="secret (HTTP Basic) or jwt (RS256).")] = KeyKind.SECRET,
    out: Annotated[Path | None, typer.Option("--out", help="For --kind jwt: credentials JSON file to write.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create an API key. The secret (or private key) is shown once, never stored."""
    with container() as c:
        new = c.accounts.create_key(account, role, kind)
        owner = c.accounts.list_accounts()
    number = next(a.number for a in owner if a.sid == account)
    if kind is KeyKind.SECRET:
        payload = {"sid": new.key.sid, "secret": new.secret, "role": role.value}
        typer.echo(json.dumps(payload) if as_json else f"key {new.key.sid} secret (shown once): {new.secret}")
        return
    credentials = {
        "account_id": number,
        "account_sid": account,
        "key_id": new.key.sid,
        "private_key": new.private_key_pem,
    }
    target = out or Path(f"{new.key.sid}.json")
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(credentials, fh, indent=2)
    payload = {"sid": new.key.sid, "role": role.value, "credentials_file": str(target)}
    typer.echo(json.dumps(payload) if as_json else f"key {new.key.sid}: credentials written to {target}")


@keys_app.command("revoke")
def revoke_key(sid: Annotated[str, typer.Argument(help="Key SID.")]) -> None:
    with container() as c:
        c.accounts.revoke_key(sid)
    typer.echo(f"key {sid} revoked")


@fx_app.command("import")
def import_fx(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="ECB CSV file.")],
) -> None:
    """Load ECB reference rates (eurofxref-hist.csv format); rows of the same day replace."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rates = read_ecb_csv(fh, str(path))
    with container() as c:
        count = c.fx.import_rates(rates)
        first, last, total = c.fx.span()
    typer.echo(f"imported {count} rates; stored {total} from {first} to {last}")
