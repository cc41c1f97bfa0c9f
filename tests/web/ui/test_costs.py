"""What every page costs beyond its own content stays bounded: the chrome names the visitor by one lookup, not by
reading every user of the node (benchmarks/bench_dashboard.py times the pages with 1,000,000 objects stored)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.ui.conftest import Community


def test_a_page_names_its_visitor_without_listing_every_user(community: Community, browser: Any,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    alice = browser("alice")

    def every_user(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a page listed every user of the node")

    monkeypatch.setattr(community.node.admin, "users", every_user)
    page = alice.get("/feed")
    assert page.status_code == 200
    assert "alice" in page.text and "ACME CERT" in page.text
