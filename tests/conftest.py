"""Shared fixtures."""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from pgserver import PgServer
from readypolicy.store.interface import Store
from readypolicy.store.open import open_store
from support import CI_REVISION_VARIABLES, REPO, require_opa, start_server_or_skip

_database_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def _no_ci_commit_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI decides the revision a CI commit variable names; tests run in-process must not inherit the runner's.

    (`run_cli` drops them from child processes as well, which also covers fixtures wider than one test.)
    """
    for variable in CI_REVISION_VARIABLES:
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A private PostgreSQL cluster for the whole session; required (fails, not skips) when CI=true."""
    server = start_server_or_skip()
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """URL of a fresh, empty database in the session cluster."""
    return pg_server.create_database(f"t{next(_database_numbers)}_{os.getpid()}")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty store, once per store implementation.

    SQLite: a file not created yet (`ingest` creates it). PostgreSQL: a database its owner has
    migrated, since `ingest` never creates tables there unless `store_auto_migrate` says so.
    """
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url = str(request.getfixturevalue("pg_url"))
    open_store(url).close()
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An open, empty store, once per store implementation."""
    opened = open_store(store_url)
    yield opened
    opened.close()


@pytest.fixture
def pack_copy(tmp_path: Path) -> Path:
    """The readiness pack's sources (its own directory, without the other packs), with a readypolicy.yaml beside."""
    project = tmp_path / "project"
    shutil.copytree(REPO / "policies", project / "policies", ignore=shutil.ignore_patterns("packs"))
    (project / "readypolicy.yaml").write_text(f"policies: policies\npack: readiness\nopa: {require_opa()}\n", encoding="utf-8")
    return project
