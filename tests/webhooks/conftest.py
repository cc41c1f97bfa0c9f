from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import World, make_world
from tests.webhooks.helpers import QUICK
from tests.webhooks.receiver import Receiver, receiving


@pytest.fixture
def world() -> Iterator[World]:
    w = make_world(QUICK)
    yield w
    w.node.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as r:
        yield r
