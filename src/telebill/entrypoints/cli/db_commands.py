"""`telebill db`: schema migrations of the configured database."""

from __future__ import annotations

import typer

from telebill.entrypoints.cli.context import container

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade() -> None:
    """Migrate the configured database (TELEBILL_DATABASE_URL, default the embedded SQLite file)."""
    with container() as c:
        c.migrate()
        typer.echo(f"database at {c.engine.url.render_as_string(hide_password=True)} is up to date")
