from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.streams.server import Stream


@pytest.fixture(autouse=True)
def _close_streams() -> Iterator[None]:
    yield
    Stream.close_all()
