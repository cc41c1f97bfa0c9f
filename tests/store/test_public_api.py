from __future__ import annotations

import phalanx.store as store


def test_all_is_complete() -> None:
    public = {name for name in dir(store) if not name.startswith("_")}
    assert set(store.__all__) == public - {"annotations"}
    for name in store.__all__:
        assert getattr(store, name) is not None
