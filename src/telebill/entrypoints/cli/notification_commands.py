"""`telebill notifications`: the messages the worker gave up on, and sending one again."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from telebill.entrypoints.cli.context import container
from telebill.entrypoints.presenters import notification_json

notifications_app = typer.Typer(help="Notifications in the outbox.", no_args_is_help=True)


@notifications_app.command("list")
def list_notifications(
    account: Annotated[str | None, typer.Option("--account", help="One account's notifications, any state.")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Every account's notifications given up on.")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="Rows, newest first.")] = 100,
    before: Annotated[
        int | None, typer.Option("--before", min=1, max=2**63 - 1, help="Rows older than this id.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """An account's notifications (--account), or those the worker gave up on (--failed)."""
    if (account is None) == (not failed):
        raise typer.BadParameter("give --account SID or --failed")
    with container() as c:
        if account is not None:
            rows, more = c.notification_history.of_account(c.accounts.account(account), limit, before)
        else:
            rows, more = c.notification_history.failed(limit, before)
    for n in rows:
        line = notification_json(n, operator=True)
        typer.echo(json.dumps(line) if as_json else " ".join(f"{k}={v}" for k, v in line.items()))
    if more:
        typer.echo(f"more: --before {rows[-1].row.id}", err=True)


@notifications_app.command("retry")
def retry(outbox_id: Annotated[int, typer.Argument(min=1, max=2**63 - 1, help="The notification's id.")]) -> None:
    """Send a notification given up on again (after fixing its cause): the worker delivers it at
    its next pass."""
    with container() as c:
        n = c.notification_history.retry(outbox_id)
    typer.echo(" ".join(f"{k}={v}" for k, v in notification_json(n, operator=True).items()))
