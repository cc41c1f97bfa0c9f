from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from phalanx.config import Settings
from tests.conformance.conftest import postgres_schema
from tests.support import World, make_world


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    """The same small world of organizations on each backend."""
    if request.param == "postgres":
        with postgres_schema() as url:
            w = make_world(Settings(database_url=url, batch_size=7))
            yield w
            w.node.close()
        return
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path}/node.db"
    w = make_world(Settings(database_url=url, batch_size=7))
    yield w
    w.node.close()
