"""`telebill serve`: the HTTP API on uvicorn."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    ssl_certfile: Annotated[
        Path | None, typer.Option("--ssl-certfile", help="Serve HTTPS with this certificate (PEM).")
    ] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option("--ssl-keyfile", help="The certificate's private key.")] = None,
) -> None:
    """Serve the HTTP API against the configured database. With a certificate it serves
    HTTPS, which the official Voximplant SDK requires (it always calls https://)."""
    import uvicorn

    from telebill.entrypoints.api.app import create_app

    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise typer.BadParameter("give both --ssl-certfile and --ssl-keyfile, or neither")
    scheme = "https" if ssl_certfile else "http"
    typer.echo(f"telebill API listening on {scheme}://{host}:{port} (docs at /docs)")
    uvicorn.run(
        create_app(),
        host=host,
        port=port,
        log_level="warning",
        ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
        ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None,
    )
