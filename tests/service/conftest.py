from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support import World, make_world

from phalanx.config import Settings


@pytest.fixture(params=["memory", "sqlite"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path}/node.db"
    w = make_world(Settings(database_url=url, batch_size=7))
    yield w
    w.node.close()
