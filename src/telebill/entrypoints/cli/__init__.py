"""The `telebill` command line: one Typer app, one module per command family."""

from __future__ import annotations

from telebill.entrypoints.cli.app import app, main

__all__ = ["app", "main"]
