"""Fixtures shared by several test packages: a fixed clock, a fresh SQLite database, a
throwaway PostgreSQL cluster (tests/postgres.py), and the served application
(tests/e2e/fixtures.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kidshield.clock import FixedClock
from kidshield.storage.db import Database
from tests.postgres import PostgresCluster, running_cluster

pytest_plugins = ["tests.e2e.fixtures"]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 5, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "kidshield.db")
    yield database
    database.close()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """One PostgreSQL server for the session, started on first use."""
    with running_cluster() as cluster:
        yield cluster


@pytest.fixture
def pg_url(postgres: PostgresCluster) -> str:
    """The URL of a new, empty PostgreSQL database (not migrated)."""
    return postgres.new_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind kidshield supports (for tests that must hold on both)."""
    if request.param == "sqlite":
        return str(tmp_path / "kidshield.db")
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    return cluster.new_database()
