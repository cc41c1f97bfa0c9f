"""Fixtures shared by the whole suite: where the shared data is, and nodes on each backend."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DATA = SHARED / "data"
OASIS = DATA / "stix" / "oasis-examples"
POSTGRES_URL = os.environ.get("PHALANX_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def shared_data(*parts: str) -> Path:
    """A path in ../shared/data; skips the test when the shared data is not beside the project."""
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs {path} (the shared data folder beside the project)")
    return path


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    """An empty node home folder."""
    path = tmp_path / "node"
    yield path
