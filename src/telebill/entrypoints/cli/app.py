"""Root of the CLI: global error mapping and the command families."""

from __future__ import annotations

import sys

import typer

from telebill.domain.errors import TelebillError
from telebill.entrypoints.cli import (
    account_commands,
    catalog_commands,
    cdr_commands,
    db_commands,
    money_commands,
    notification_commands,
    pricing_commands,
    rerate_commands,
    server_commands,
    worker_commands,
)

app = typer.Typer(
    name="telebill",
    help="Telecom pricing, rating and billing.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(db_commands.app, name="db")
app.add_typer(catalog_commands.decks_app, name="decks")
app.add_typer(catalog_commands.plans_app, name="plans")
app.add_typer(account_commands.accounts_app, name="accounts")
app.add_typer(account_commands.keys_app, name="keys")
app.add_typer(account_commands.fx_app, name="fx")
app.add_typer(money_commands.numbers_app, name="numbers")
app.add_typer(money_commands.ledger_app, name="ledger")
app.add_typer(notification_commands.notifications_app, name="notifications")
app.command("topup")(money_commands.topup)
app.command("demo")(catalog_commands.demo)
app.command("price")(pricing_commands.price)
app.command("rate")(pricing_commands.rate)
app.command("rate-cdrs")(cdr_commands.rate_cdrs)
app.command("rerate")(rerate_commands.rerate)
app.command("reconcile")(rerate_commands.reconcile)
app.command("serve")(server_commands.serve)
app.command("worker")(worker_commands.worker)


def main() -> None:
    try:
        app()
    except TelebillError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        sys.exit(2)
