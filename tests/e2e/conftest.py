"""End-to-end fixtures: the real `telebill` console script run as a subprocess.

Every command runs against the per-test database of the `database_url` fixture (a fresh SQLite
file, or the freshly reset PostgreSQL named by TELEBILL_TEST_DATABASE_URL) through
TELEBILL_DATABASE_URL, from the test's own temporary directory so no `.env` file is picked up.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from e2e_cli import DEMO_DECKS, DEMO_PLANS, Telebill


@pytest.fixture
def telebill(database_url: str, tmp_path: Path) -> Telebill:
    """The CLI on a fresh database migrated by `telebill db upgrade`."""
    env = {**os.environ, "TELEBILL_DATABASE_URL": database_url}
    env.pop("TELEBILL_TEST_DATABASE_URL", None)
    cli = Telebill(env, tmp_path)
    upgraded = cli.run("db", "upgrade")
    assert "is up to date" in upgraded.stdout
    return cli


@pytest.fixture
def demo(telebill: Telebill) -> Telebill:
    """The CLI on a fresh database holding the demo catalog (`telebill demo`)."""
    loaded = telebill.run("demo")
    for name in (*DEMO_DECKS, *DEMO_PLANS):
        assert f" {name}: " in loaded.stdout, loaded.stdout
    return telebill
