"""Fixtures shared by the whole suite (helpers live in tests/support.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from phalanx.config import Settings
from tests.support import World, make_world


@pytest.fixture
def world() -> Iterator[World]:
    """The small world of tests/support.py on the memory backend. Folders and modules that need another backend,
    or more organizations, define their own ``world``."""
    w = make_world(Settings(database_url="memory://"))
    yield w
    w.node.close()

