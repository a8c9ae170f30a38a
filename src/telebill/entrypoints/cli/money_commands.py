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
    before: Annotated[
        int | None, typer.Option("--before", min=1, max=2**63 - 1, help="Lines older than this entry id.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The page as one JSON object, as the API gives it.")] = False,
) -> None:
    """Every movement of an account's credit, newest first, with the balance after each."""
    with container() as c:
        account = c.accounts.account(sid)
        st = c.ledger.statement(account.sid, account.currency.code, limit, before)

    def money(micros: int) -> str:
        return format_micros(micros, account.currency)

    lines = [
        {
            "id": line.transfer.id,
            "created_at": line.transfer.created_at.isoformat(),
            "kind": line.transfer.kind.value,
            "amount": money(line.amount),
            "held": money(line.held),
            "balance": money(line.balance),
            "holds": money(line.holds),
            "available": money(line.balance - line.holds),
            "reference": line.transfer.reference,
        }
        for line in st.lines
    ]
    next_before = st.lines[-1].transfer.id if st.more else None
    if as_json:
        page = {
            "sid": account.sid,
            "currency": st.currency,
            "balance": money(st.balance),
            "holds": money(st.holds),
            "available": money(st.balance - st.holds),
            "entries": lines,
            "next_before": next_before,
        }
        typer.echo(json.dumps(page))
        return
    typer.echo(f"{account.sid} {st.currency}: balance {money(st.balance)}, holds {money(st.holds)},"
               f" available {money(st.balance - st.holds)}")  # fmt: skip
    if lines:
        typer.echo("\t".join(lines[0]))
    for row in lines:
        typer.echo("\t".join(str(v) for v in row.values()))
    if next_before is not None:
        typer.echo(f"more: --before {next_before}")
