"""Each public package names its public surface in __all__, and everything named there exists."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = ["phalanx", "phalanx.errors", "phalanx.config", "phalanx.stix", "phalanx.store", "phalanx.identity",
            "phalanx.policy", "phalanx.service", "phalanx.web", "phalanx.cli", "phalanx.analysis", "phalanx.pattern"]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_complete(name: str) -> None:
    module = importlib.import_module(name)
    exported = set(module.__all__)
    for symbol in exported:
        assert hasattr(module, symbol), f"{name}.__all__ names {symbol}, which does not exist"
    public = {n for n, v in vars(module).items() if not n.startswith("_")
              and getattr(v, "__module__", "").startswith(name + "._")}
    assert public <= exported, f"{name} has public names missing from __all__: {public - exported}"
