"""`python -m telebill` runs the CLI."""

from telebill.entrypoints.cli import main

main()
