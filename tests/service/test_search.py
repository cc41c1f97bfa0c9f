"""``Search`` (phalanx.service._search) and the terms it finds versions by (phalanx.analysis._text): words and
compounds, granular markings, the reindex, and the filters that are the policy's to decide."""

from __future__ import annotations

import dataclasses
import doctest
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

import phalanx.analysis._text
import phalanx.service._search
from phalanx.analysis._text import (
    ALL,
    ANONYMOUS,
    MAX_QUERY_TERMS,
    MAX_TERMS,
    label_term,
    query_terms,
    text_terms,
    type_term,
    words,
)
from phalanx.config import Settings
from phalanx.errors import InvalidParameter
from phalanx.identity import Actor, Organization, Role
from phalanx.service import Node
from phalanx.service._search import Wanted, refang
from phalanx.stix import Tlp, parse_document


def test_the_examples_in_the_docs_run() -> None:
    assert doctest.testmod(phalanx.analysis._text).failed == 0
    assert doctest.testmod(phalanx.service._search).failed == 0


def test_words_and_compounds() -> None:
    assert list(words("Call hxxp://X.Evil.Example.com/a.php?id=7, not 198.51.100.7.")) == [
        "call", "hxxp", "x.evil.example.com", "evil.example.com", "example.com", "x", "evil", "example", "com",
        "a.php", "a", "php", "id", "7", "not", "198.51.100.7", "198", "51", "100", "7"]
    assert list(words("CVE-2021-44228 T1059.001 Ünïcödé \uff26\uff35\uff2c\uff2c")) == [
        "cve-2021-44228", "cve", "2021", "44228", "t1059.001", "t1059", "001", "ünïcödé", "full"]
    assert query_terms("  Emotet, LOADER!  emotet ") == ("emotet", "loader")
    assert query_terms('"" * : -- ( )') == ()
    assert len(query_terms(" ".join(f"w{n}" for n in range(50)))) == MAX_QUERY_TERMS
    assert refang("evil[.]example(.)com") == "evil.example.com"
    assert refang("hXXps://a[.]b/c") == "https://a.b/c"


def test_text_terms_of_a_version() -> None:
    data = {"type": "indicator", "name": "Emotet", "labels": ["Malicious-Activity"], "description": "Loader",
            "pattern": "[url:value = 'http://evil.example/x']",
            "external_references": [{"source_name": "mitre-attack", "external_id": "T1566"}], "other": "hidden"}
    terms = text_terms("indicator", orjson.dumps(data))
    assert terms[:3] == (ALL, type_term("indicator"), label_term("malicious-activity"))
    for word in ("emotet", "loader", "malicious-activity", "evil.example", "t1566", "mitre-attack"):
        assert word in terms
    assert "hidden" not in terms and ANONYMOUS not in terms
    anonymous = text_terms("sighting", orjson.dumps({"type": "sighting", "x_phalanx_anonymous": True}))
    assert ANONYMOUS in anonymous
    huge = text_terms("report", orjson.dumps({"description": " ".join(f"w{n}" for n in range(10_000))}))
    assert len(huge) == MAX_TERMS


def test_parts_marked_beyond_the_level_are_not_terms() -> None:
    data = {"type": "indicator", "name": "public name", "description": "secret words",
            "granular_markings": [{"marking_ref": Tlp.RED.value, "selectors": ["description"]}]}
    raw = orjson.dumps(data)
    assert "secret" not in text_terms("indicator", raw, level=Tlp.GREEN)
    assert "public" in text_terms("indicator", raw, level=Tlp.GREEN)
    assert "secret" in text_terms("indicator", raw, level=Tlp.RED)


@dataclasses.dataclass
class World:
    node: Node
    acme: Organization
    globex: Organization
    collection: str

    def share(self, org: Organization, *objects: dict[str, Any]) -> None:
        sharing = self.node.ingest.authorize(Actor(org.id, Role.CONTRIBUTOR), self.collection, organizations=(),
                                             people=(), tolerant=False)
        data = orjson.dumps({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000001",
                             "objects": list(objects)})
        parsed = parse_document(data, mode=self.node.ingest.mode(False), limits=self.node.ingest.limits())
        assert all(r.outcome == "accepted" for r in self.node.ingest.parsed(sharing, parsed))


@pytest.fixture(params=["memory", "sqlite"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path}/node.db"
    node = Node.open(Settings(database_url=url, home=tmp_path, warninglists="off"), upgrade=True)
    node.admin.add_community("isac")
    acme, globex = node.admin.add_organization("ACME"), node.admin.add_organization("Globex")
    for org in (acme, globex):
        node.admin.join("isac", org.id)
    collection = node.admin.add_collection("shared", community="isac")
    try:
        yield World(node, acme, globex, collection.id)
    finally:
        node.close()


def indicator(n: int, name: str, **extra: Any) -> dict[str, Any]:
    return {"type": "indicator", "spec_version": "2.1", "id": f"indicator--00000000-0000-4000-8000-{n:012d}",
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "name": name,
            "pattern": f"[ipv4-addr:value = '198.51.100.{n}']", "pattern_type": "stix",
            "valid_from": "2026-01-01T00:00:00Z", "object_marking_refs": [Tlp.GREEN.value], **extra}


def test_a_granular_part_beyond_the_readers_reach_finds_nothing(world: World) -> None:
    world.share(world.acme, indicator(1, "public name", description="operation nightjar",
                                      granular_markings=[{"marking_ref": Tlp.RED.value, "selectors": ["description"]}]))
    reader = Actor(world.globex.id, Role.READER)
    assert world.node.search.search(reader, Wanted(text="nightjar")).items == []
    (found,) = world.node.search.search(reader, Wanted(text="public")).items
    assert b"nightjar" not in found.canonical  # read as the reader gets it: the part removed


def test_reindex_gives_terms_to_versions_stored_without(world: World) -> None:
    world.share(world.acme, indicator(1, "Emotet loader"), indicator(2, "QakBot"))
    store = world.node.backend.store
    reader = Actor(world.globex.id, Role.READER)
    ids = [f"indicator--00000000-0000-4000-8000-{n:012d}" for n in (1, 2)]
    version = store.get(ids[0]).version
    assert store.set_terms([(i, version, ()) for i in ids]) == 2
    assert world.node.search.search(reader, Wanted(text="emotet")).items == []
    seen: list[int] = []
    assert world.node.search.reindex(batch=1, progress=seen.append) == 2
    assert seen == [1, 2]
    assert [i.id for i in world.node.search.search(reader, Wanted(text="emotet")).items] == ids[:1]
    assert [i.id for i in world.node.search.search(reader, Wanted()).items] == ids[::-1]


@pytest.mark.parametrize(("wanted", "limit"), [(Wanted(since=10, until=10), 50), (Wanted(), 0), (Wanted(), 201)])
def test_bad_searches_are_refused(world: World, wanted: Wanted, limit: int) -> None:
    with pytest.raises(InvalidParameter):
        world.node.search.search(Actor(world.acme.id, Role.READER), wanted, limit=limit)


def test_a_search_reads_a_bounded_number_of_matches_and_continues_further_back(world: World) -> None:
    """``scan`` matches are examined whoever may read them (RED ones for ACME alone here): what the reader sees
    among them is found, the others neither shown nor counted, and ``next`` searches further back."""
    search = world.node.search
    search.scan = 2
    world.share(world.globex, indicator(1, "needle one"))
    for n in range(2, 6):
        world.share(world.acme, indicator(n, f"needle hidden {n}", object_marking_refs=[Tlp.RED.value]))
    world.share(world.globex, indicator(6, "needle six"))
    reader = Actor(world.globex.id, Role.READER)
    names: list[list[str]] = []
    bounds: list[bool] = []
    before: int | None = None
    while True:
        found = search.search(reader, Wanted(text="needle"), before=before)
        names.append([orjson.loads(i.canonical)["name"] for i in found.items])
        bounds.append(found.bounded)
        assert found.scan == 2 and found.more == (found.next is not None)
        if found.next is None:
            break
        before = found.next
    # matches 6 and 5, then 4 and 3, then 2 and 1: nothing older, so no bound stopped the last reading
    assert names == [["needle six"], [], ["needle one"]]
    assert bounds == [True, True, False]
    owner = Actor(world.acme.id, Role.READER)
    assert [orjson.loads(i.canonical)["name"] for i in search.search(owner, Wanted(text="needle")).items] == [
        "needle six", "needle hidden 5"]
    # the limit reached within the bound: an ordinary next page, not the bound
    page = search.search(owner, Wanted(text="needle"), limit=1)
    assert not page.bounded and page.more and [i.id for i in page.items] == [indicator(6, "")["id"]]
    search.scan = 100
    unbounded = search.search(reader, Wanted(text="needle"))
    assert [i.id for i in unbounded.items] == [indicator(n, "")["id"] for n in (6, 1)]
    assert not unbounded.bounded and unbounded.next is None
