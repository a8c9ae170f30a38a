"""`telebill topup`, `telebill numbers`, `telebill ledger`: prepaid credit from the command line."""

from __future__ import annotations

import json
import secrets
from typing import Annotated

import typer

from telebill.domain.money import format_decimal, format_micros
from telebill.entrypoints.cli.context import container

numbers_app = typer.Typer(help="An account's phone numbers (calling lines).", no_args_is_help=True)
ledger_app = typer.Typer(help="The ledger.", no_args_is_help=True)


def topup(
    sid: Annotated[str, typer.Argument(help="Account SID.")],
    amount: Annotated[str, typer.Argument(help="Decimal amount in the account currency, e.g. 25.00.")],
    key: Annotated[
        str | None, typer.Option("--idempotency-key", help="Replaying the same key adds nothing more.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Record a payment received by other means (bank transfer, manual) and add the credit."""
    with container() as c:
        account = c.accounts.account(sid)
        result = c.credits.top_up(account, amount, key or f"cli-{secrets.token_hex(8)}", source="cli")
    bal = result.balance
    payload = {
        "status": result.payment_status,
        "amount": format_decimal(result.amount),
        "currency": result.currency,
        "balance": format_micros(bal.balance, account.currency),
        "available": format_micros(bal.available, account.currency),
        "replayed": result.replayed,
    }
    typer.echo(json.dumps(payload) if as_json else " ".join(f"{k}={v}" for k, v in payload.items()))
    if result.payment_status != "succeeded":
        raise typer.Exit(1)


@numbers_app.command("add")
def add_number(
    sid: Annotated[str, typer.Argument(help="Account SID.")],
    number: Annotated[str, typer.Argument(help="Phone number the customer holds (E.164).")],
    international: Annotated[bool, typer.Option("--international", help="Allow international calls.")] = False,
) -> None:
    """Attach a number to an account (international calling off unless --international)."""
    from telebill.domain.accounts import Principal, Role

    with container() as c:
        account = c.accounts.account(sid)
        line = c.lines.add(account, number)
        if international:
            line = c.lines.set_international(Principal(account, Role.ADMIN), account, line.e164, True)
    typer.echo(f"{line.e164} on {account.sid}, international calling {'on' if line.international_calling else 'off'}")


@numbers_app.command("list")
def list_numbers(sid: Annotated[str, typer.Argument(help="Account SID.")]) -> None:
    with container() as c:
        account = c.accounts.account(sid)
        for line in c.lines.lines(account):
            typer.echo(f"{line.e164}\tinternational={'on' if line.international_calling else 'off'}")


@ledger_app.command("verify")
def verify() -> None:
    """Check the ledger's invariants; exit 1 if any fails."""
    with container() as c:
        report = c.ledger.verify()
    typer.echo(f"transfers unbalanced: {report.transfers_unbalanced or 'none'}")
    typer.echo(f"accounts whose cached balance differs from their postings: {report.accounts_mismatched or 'none'}")
    typer.echo(f"postings without a transfer: {report.orphan_postings}")
    typer.echo(f"transfers without postings: {report.transfers_without_postings}")
    typer.echo("ledger OK" if report.ok else "LEDGER INCONSISTENT")
    if not report.ok:
        raise typer.Exit(1)


@ledger_app.command("statement")
def statement(
    sid: Annotated[str, typer.Argument(help="Account SID.")],
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="Lines, newest first.")] = 100,
    before: Annotated[int | None, typer.Option("--before", help="Lines older than this entry id.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Every movement of an account's credit, newest first, with the balance after each."""
    with container() as c:
        account = c.accounts.account(sid)
        st = c.ledger.statement(account.sid, account.currency.code, limit, before)

    def money(micros: int) -> str:
        return format_micros(micros, account.currency)

    typer.echo(f"{account.sid} {st.currency}: balance {money(st.balance)}, holds {money(st.holds)},"
               f" available {money(st.balance - st.holds)}")  # fmt: skip
    for line in st.lines:
        t = line.transfer
        row = {
            "id": t.id,
            "created_at": t.created_at.isoformat(),
            "kind": t.kind.value,
            "amount": money(line.amount),
            "held": money(line.held),
            "balance": money(line.balance),
            "available": money(line.balance - line.holds),
            "reference": t.reference,
        }
        typer.echo(json.dumps(row) if as_json else "\t".join(str(v) for v in row.values()))
    if st.more:
        typer.echo(f"more: --before {st.lines[-1].transfer.id}")
