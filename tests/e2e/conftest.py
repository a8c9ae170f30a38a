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


@pytest.fixture(scope="session")
def cli_base_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of every CLI run, before the database URL is set.

    Where PYTHONDONTWRITEBYTECODE is set, each of the ~60 subprocesses would compile the
    telebill sources again; their bytecode goes to a session cache instead (never into src/).
    """
    env = dict(os.environ)
    env.pop("TELEBILL_TEST_DATABASE_URL", None)
    if env.pop("PYTHONDONTWRITEBYTECODE", None) is not None:
        env["PYTHONPYCACHEPREFIX"] = str(tmp_path_factory.mktemp("pycache"))
    return env


@pytest.fixture
def telebill(cli_base_env: dict[str, str], database_url: str, tmp_path: Path) -> Telebill:
    """The CLI on a fresh database migrated by `telebill db upgrade`."""
    cli = Telebill({**cli_base_env, "TELEBILL_DATABASE_URL": database_url}, tmp_path)
    upgraded = cli.run("db", "upgrade")
    assert "is up to date" in upgraded.stdout
    return cli


@pytest.fixture
def demo(telebill: Telebill) -> Telebill:
    """The CLI on a fresh database holding the demo catalog (`telebill demo`)."""
    loaded = telebill.run("demo")
    for deck in DEMO_DECKS:
        assert f"deck {deck}: " in loaded.stdout, loaded.stdout
    for plan in DEMO_PLANS:
        assert f"plan {plan}: " in loaded.stdout, loaded.stdout
    return telebill
