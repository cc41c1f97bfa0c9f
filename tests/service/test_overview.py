"""The live feed's reading (``Overview.feed``): filters applied after reading scan in few, growing pages, and find
the same rows as reading one page at a time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from phalanx.config import Settings
from phalanx.identity import Actor, Role
from phalanx.service import Node
from phalanx.service._overview import FeedFilter
from phalanx.store import Page, Query

COUNT = 600


def _indicator(n: int) -> dict[str, Any]:
    stamp = "2026-01-01T00:00:00.000Z"
    return {"type": "indicator", "spec_version": "2.1", "id": f"indicator--00000000-0000-4000-8000-{n:012d}",
            "created": stamp, "modified": stamp, "name": f"indicator {n}", "pattern_type": "stix",
            "pattern": f"[ipv4-addr:value = '198.51.{n // 250}.{n % 250}']", "valid_from": stamp,
            "labels": ["rare"] if n % 97 == 0 else ["common"]}


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    node = Node.open(Settings(database_url="memory://", home=tmp_path, warninglists="off"), upgrade=True)
    node.admin.add_community("isac")
    org = node.admin.add_organization("ACME CERT")
    node.admin.join("isac", org.id)
    collection = node.admin.add_collection("shared", community="isac")
    body = b"\n".join(orjson.dumps(_indicator(n)) for n in range(COUNT))
    results = node.ingest.document(Actor(org.id, Role.CONTRIBUTOR), collection.id, body)
    assert all(r.outcome == "accepted" for r in results)
    try:
        yield node
    finally:
        node.close()


def _reader(node: Node) -> Actor:
    return Actor(node.admin.organization("ACME CERT").id, Role.READER)


def _counting(node: Node, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The limit of every page the feed reads from the collection that holds the indicators, in order (the
    node's other collections are empty, and read once each)."""
    limits: list[int] = []
    page = node.reader.page
    shared = node.admin.collection("shared").id

    def counted(actor: Actor, query: Query) -> Page:
        if query.collection == shared:
            limits.append(query.limit)
        return page(actor, query)

    monkeypatch.setattr(node.reader, "page", counted)
    return limits


def test_a_filter_that_matches_nothing_scans_in_a_few_growing_pages(node: Node,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    limits = _counting(node, monkeypatch)
    page = node.overview.feed(_reader(node), FeedFilter(labels=("absent",)), limit=50, scan=500)
    assert (page.items, page.scanned, page.exhausted) == ([], 500, False)
    assert limits == [50, 200, 800]  # down to the horizon of 500 rows in three queries, not ten pages of 50


def test_without_such_a_filter_the_feed_reads_one_page(node: Node, monkeypatch: pytest.MonkeyPatch) -> None:
    limits = _counting(node, monkeypatch)
    page = node.overview.feed(_reader(node), FeedFilter(), limit=50)
    assert len(page.items) == 50 and limits == [50]


def test_growing_pages_find_what_one_page_at_a_time_finds(node: Node) -> None:
    reader = _reader(node)
    wanted = [f"indicator {n}" for n in reversed(range(COUNT)) if n % 97 == 0]
    found = node.overview.feed(reader, FeedFilter(labels=("rare",)), limit=50, scan=COUNT)
    assert [orjson.loads(i.canonical)["name"] for i in found.items] == wanted
    assert found.scanned == COUNT
    few = node.overview.feed(reader, FeedFilter(labels=("rare",)), limit=3, scan=COUNT)
    assert [orjson.loads(i.canonical)["name"] for i in few.items] == wanted[:3]
