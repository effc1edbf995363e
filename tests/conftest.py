"""Shared fixtures: the corpus location and helpers that build inputs by code."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# A real PostgreSQL for the central log's tests: the `postgres` cluster and a `postgres_dsn` per test.
pytest_plugins = ["tests.postgres_fixture"]

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The shared corpus, read in place. Absent: skip on a laptop, fail in CI."""
    if not CORPUS.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"corpus not found at {CORPUS}; CI must have ../shared beside the clone")
        pytest.skip(f"corpus not found at {CORPUS} (clone the shared folder beside the project to run it)")
    return CORPUS
