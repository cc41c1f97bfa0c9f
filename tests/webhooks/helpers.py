"""Helpers of the webhook tests: settings that retry quickly, objects to share, waiting, the documented snippet."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from phalanx.config import Settings
from phalanx.identity import Actor, Role
from phalanx.stix import Tlp, tlp_marking_definition
from tests.support import INDICATOR, ROOT, World, bundle

T = TypeVar("T")

QUICK = Settings(database_url="memory://", webhook_backoff_seconds=0.05, webhook_backoff_max_seconds=0.2,
                 webhook_max_attempts=3, webhook_timeout_seconds=2)
"""Settings that retry quickly: waits of 25-50 ms, 50-100 ms, 100-200 ms; three attempts."""
RED = tlp_marking_definition(Tlp.RED)["id"]


def indicator(i: int, **extra: object) -> dict[str, object]:
    return dict(INDICATOR, id=f"indicator--{i:08x}-0cce-4b0c-8b5e-0c1f9a55d6aa", **extra)


def share(world: World, *objects: dict[str, object], collection: str = "isac") -> None:
    results = world.node.ingest.document(world.contributor, collection, bundle(*objects))
    assert all(r.outcome == "accepted" for r in results), results


def globex_reader(world: World) -> Actor:
    return Actor(world.globex.id, Role.READER)


def eventually(check: Callable[[], T], timeout: float = 10.0) -> T:
    """``check()``'s value once it is truthy (the dispatcher settles an attempt just after the receiver answers)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            assert value, f"still {value!r} after {timeout} s"
            return value
        time.sleep(0.01)


def documented_verify() -> Callable[..., bool]:
    """The ``verify`` function of docs/streams.md, run as the page shows it."""
    text = (ROOT / "docs" / "streams.md").read_text(encoding="utf-8")
    (code,) = [block for block in re.findall(r"```python\n(.*?)```", text, re.S) if "def verify" in block]
    scope: dict[str, Any] = {}
    exec(compile(code, str(Path("docs/streams.md")), "exec"), scope)
    verify: Callable[..., bool] = scope["verify"]
    return verify
