"""`telebill serve`: the HTTP API on uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer


def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
) -> None:
    """Serve the HTTP API against the configured database."""
    import uvicorn

    from telebill.entrypoints.api.app import create_app

    typer.echo(f"telebill API listening on http://{host}:{port} (docs at /docs)")
    uvicorn.run(create_app(), host=host, port=port, log_level="warning")
