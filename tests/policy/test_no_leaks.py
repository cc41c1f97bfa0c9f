"""Proof that nothing leaks: generated worlds, every read path, an independent oracle.

Hypothesis builds worlds — organizations with people, communities with random members, collections (some
public, some filtered), actors with every role (and people's keys, a node administrator, anonymous callers),
objects with random TLP 1.0/2.0 markings, granular markings, recipients (organizations and people), several
versions, revocations, versions of others' objects and objects passed on into other collections — through the
real TAXII 2.1 POST. An oracle written here, from the policy's text (docs/policy.md) and not from its code,
predicts what each write does and what each actor may see; then every read path is compared with it:
TAXII collections, collection, objects (every version filter, paged), object, versions, manifest and status;
the JSON API's objects; the export (the service call behind ``phalanx export --key``, and the command
itself for one actor of each world); and the dashboard's feed, search and object pages (one actor of one world
in ten). Any disagreement fails the test with the world that shows it.

The worlds run on SQLite (the embedded default) — ``PHALANX_LEAK_WORLDS`` of them, 1,000 unless set — and a
smaller number on PostgreSQL and in memory, each world in a fresh database.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, reproduce_failure, settings
from hypothesis import strategies as st

from phalanx.cli import cli
from phalanx.config import Settings
from phalanx.identity import Role
from phalanx.service import Node
from phalanx.stix import parse_micros
from phalanx.store import Query, VersionFilter
from phalanx.web import create_app
from tests.conformance.conftest import postgres_schema

WORLDS = int(os.environ.get("PHALANX_LEAK_WORLDS", "1000"))
TAXII = "application/taxii+json;version=2.1"

# The oracle's own table of TLP marking ids (TLP 2.0 and the 1.0 ids STIX 2.1 predefines) and levels.
CLEAR, GREEN, AMBER, AMBER_STRICT, RED = range(5)
MARKINGS = {
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": CLEAR,
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": GREEN,
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": AMBER,
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": AMBER_STRICT,
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": RED,
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": CLEAR,  # TLP 1.0 WHITE
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": GREEN,
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": AMBER,
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": RED,
}
DEFAULT_LEVEL = AMBER  # the hub's default_tlp in these worlds
BY_LEVEL = {level: [m for m, lv in MARKINGS.items() if lv == level] for level in range(5)}
WRITERS = (Role.CONTRIBUTOR, Role.ORG_ADMIN, Role.PEER, Role.ADMIN)


# --- the world -----------------------------------------------------------------------------------------------


@dataclass
class Person:
    id: str
    username: str
    org: str


@dataclass
class Org:
    id: str
    name: str
    people: list[Person]


@dataclass
class Coll:
    id: str
    title: str
    community: str
    public: bool
    types: tuple[str, ...]


@dataclass
class Who:
    """An actor the test calls with: a key (None: anonymous), its organization, role and person."""

    key: str | None
    org: str
    role: Role
    person: str | None = None

    @property
    def label(self) -> str:
        return f"{self.role.value}@{self.org[-4:]}" + (f"/{self.person[-4:]}" if self.person else "")


@dataclass
class Version:
    contributor: str
    level: int
    granular: int | None
    """The level of the granular marking on ``description`` (None: no granular marking)."""
    revoked: bool
    body: dict[str, Any]


@dataclass
class Member:
    sharer: str
    orgs: frozenset[str]
    people: frozenset[str]
    """Recipients the sharer named; both empty: nobody named."""


@dataclass
class Model:
    """The oracle's idea of the world, kept from the test's own decisions (never read back from Phalanx)."""

    orgs: list[Org]
    communities: dict[str, set[str]]
    collections: list[Coll]
    versions: dict[tuple[str, int], Version] = field(default_factory=dict)
    members: dict[tuple[str, str, int], Member] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)
    """status id -> the organization that posted."""

    def org_of(self, person: str) -> str:
        return next(p.org for o in self.orgs for p in o.people if p.id == person)

    def owner(self, oid: str) -> str | None:
        held = sorted(v for (i, v) in self.versions if i == oid)
        return self.versions[(oid, held[0])].contributor if held else None

    def held(self, cid: str, oid: str) -> list[int]:
        return sorted(v for (c, i, v) in self.members if c == cid and i == oid)

    def may_read(self, who: Who, coll: Coll) -> bool:
        if who.role is Role.ADMIN:
            return True
        if who.role is Role.ANONYMOUS:
            return coll.public
        return who.org in self.communities[coll.community] or coll.public

    def may_write(self, who: Who, coll: Coll) -> bool:
        if who.role is Role.ADMIN:
            return True
        return who.role in WRITERS and who.org in self.communities[coll.community]

    def sees_at(self, who: Who, coll: Coll, oid: str, ver: int, level: int) -> bool:
        """Whether ``who`` sees version ``ver`` of ``oid`` in ``coll`` if it were at ``level``."""
        if not self.may_read(who, coll):
            return False
        if who.role is Role.ADMIN:
            return True
        if who.role is Role.ANONYMOUS:
            return level == CLEAR
        member = self.members[(coll.id, oid, ver)]
        if who.org in (self.versions[(oid, ver)].contributor, member.sharer):
            return who.role is not Role.PEER  # a peer node is never sent back what it sent
        if level == CLEAR:
            return True
        in_community = who.org in self.communities[coll.community]
        if level == GREEN:
            return in_community
        named = bool(member.orgs or member.people)
        if level in (AMBER, AMBER_STRICT):
            reached = member.orgs | {self.org_of(p) for p in member.people}
            return in_community and (not named or who.org in reached or who.person in member.people)
        return in_community and (who.org in member.orgs or who.person in member.people)

    def sees(self, who: Who, coll: Coll, oid: str, ver: int) -> bool:
        return self.sees_at(who, coll, oid, ver, self.versions[(oid, ver)].level)

    def visible(self, who: Who, coll: Coll, which: str) -> set[tuple[str, int]]:
        """(id, version) pairs ``who`` gets from ``coll`` with match[version]=which."""
        found = set()
        for (c, oid, ver) in self.members:
            if c != coll.id or not self.sees(who, coll, oid, ver):
                continue
            held = self.held(coll.id, oid)
            if which == "all" or (which == "last" and ver == held[-1]) or (which == "first" and ver == held[0]):
                found.add((oid, ver))
        return found


# --- the oracle's prediction of each write ------------------------------------------------------------------


def predict(model: Model, who: Who, coll: Coll, oid: str, ver: int, version: Version, orgs: frozenset[str],
            people: frozenset[str]) -> str:
    """What sharing one object version does: 'added', 'linked', 'duplicate', or the refusal's first word."""
    if coll.types and version.body["type"] not in coll.types:
        return "filtered"
    unlimited = who.role is Role.ADMIN
    stored = model.versions.get((oid, ver))
    if stored is not None:
        passable = {CLEAR} if coll.public else {CLEAR, GREEN}
        top = max(stored.level, -1 if stored.granular is None else stored.granular)  # its most restricted part
        if stored.contributor != who.org and not unlimited:
            here = (coll.id, oid, ver) in model.members
            # in this collection already: only a writer that sees the whole of it may name it; elsewhere, only
            # what may be passed on. Else refused whatever the content: no answer tells a guess right or wrong.
            if (here and not model.sees_at(who, coll, oid, ver, top)) or (not here and top not in passable):
                return "restricted"
        if stored.body != version.body:
            return "conflict"
        if (coll.id, oid, ver) in model.members:
            return "duplicate"
        model.members[(coll.id, oid, ver)] = Member(who.org, orgs, people)
        return "linked"
    owner = model.owner(oid)
    if owner is not None and owner != who.org and not unlimited:
        return "foreign"
    revoked = [v for (i, v), stored_version in model.versions.items() if i == oid and stored_version.revoked]
    if revoked and ver > min(revoked):
        return "revoked"
    model.versions[(oid, ver)] = Version(who.org, version.level, version.granular, version.revoked, version.body)
    model.members[(coll.id, oid, ver)] = Member(who.org, orgs, people)
    return "added"


# --- generating worlds ---------------------------------------------------------------------------------------


def _stamp(n: int) -> str:
    return f"2024-01-{1 + n // 24:02d}T{n % 24:02d}:00:00.000Z"


def _body(oid: str, kind: str, ver_n: int, markings: list[str], granular: int | None, revoked: bool,
          tag: str) -> dict[str, Any]:
    body: dict[str, Any] = {"type": kind, "spec_version": "2.1", "id": oid, "created": _stamp(0),
                            "modified": _stamp(ver_n), "description": f"secret-{tag}"}
    if kind == "indicator":
        body.update(pattern="[ipv4-addr:value = '198.51.100.7']", pattern_type="stix", valid_from=_stamp(0))
    else:
        body.update(name=f"family {tag}", is_family=True)
    if markings:
        body["object_marking_refs"] = markings
    if granular is not None:
        body["granular_markings"] = [{"marking_ref": BY_LEVEL[granular][0], "selectors": ["description"]}]
    if revoked:
        body["revoked"] = True
    return body


def _level(markings: list[str]) -> int:
    levels = [MARKINGS[m] for m in markings if m in MARKINGS]
    return max(levels) if levels else DEFAULT_LEVEL


@dataclass
class Post:
    who: Who
    coll: Coll
    objects: list[tuple[str, int, Version]]
    orgs: frozenset[str]
    people: frozenset[str]


class Builder:
    """Builds one world in a node from hypothesis draws, keeping the model beside it."""

    def __init__(self, node: Node, draw: st.DrawFn) -> None:
        self.node, self.draw, self.tag = node, draw, uuid.uuid4().hex[:8]
        admin = node.admin
        orgs = []
        for n in range(draw(st.integers(1, 4))):
            org = admin.add_organization(f"org {n} {self.tag}")
            people = []
            for p in range(draw(st.integers(0, 2))):
                user = admin.add_user(f"person {n}.{p} {self.tag}", org_ref=org.id,
                                      role=draw(st.sampled_from([Role.READER, Role.CONTRIBUTOR])))
                people.append(Person(user.id, user.username, org.id))
            orgs.append(Org(org.id, org.name, people))
        communities: dict[str, set[str]] = {}
        collections: list[Coll] = []
        for n in range(draw(st.integers(1, 2))):
            name = f"c{n}-{self.tag}"
            admin.add_community(name, collection="")
            members = draw(st.sets(st.sampled_from([o.id for o in orgs])))
            for org_id in members:
                admin.join(name, org_id)
            communities[name] = set(members)
            for k in range(draw(st.integers(1, 2))):
                public = draw(st.booleans()) if k else False
                types = draw(st.sampled_from([(), (), ("indicator",)]))
                c = admin.add_collection(f"{name}/{k}", community=name, public=public, types=types)
                collections.append(Coll(c.id, c.title, name, public, types))
        self.model = Model(orgs, communities, collections)
        self.actors = self._actors()

    def _key(self, org: str, role: Role, person: str | None = None) -> Who:
        key, _ = self.node.admin.create_key(None if person else org, None if person else role, user_ref=person)
        return Who(key, org, role, person)

    def _actors(self) -> list[Who]:
        draw = self.draw
        actors = [Who(None, "", Role.ANONYMOUS)]
        for org in self.model.orgs:
            for role in draw(st.sets(st.sampled_from([Role.READER, Role.CONTRIBUTOR, Role.ORG_ADMIN, Role.PEER]),
                                     min_size=1, max_size=2)):
                actors.append(self._key(org.id, role))
            for person in org.people:
                if draw(st.booleans()):
                    user = self.node.admin.users(org.id)
                    role = next(u.role for u in user if u.id == person.id)
                    actors.append(self._key(org.id, role, person.id))
        if draw(st.booleans()):
            actors.append(self._key(self.model.orgs[0].id, Role.ADMIN))
        return actors

    def posts(self) -> Iterator[Post]:
        draw, model = self.draw, self.model
        writers = [a for a in self.actors if a.role in WRITERS]
        if not writers:
            return
        known: list[tuple[str, str]] = []  # (id, type) of objects made so far
        for step in range(draw(st.integers(1, 7))):
            who = draw(st.sampled_from(writers))
            coll = draw(st.sampled_from(model.collections))
            reuse = known and draw(st.integers(0, 3)) == 0
            oid, kind = draw(st.sampled_from(known)) if reuse else (
                f"{draw(st.sampled_from(['indicator', 'malware']))}--{uuid.uuid4()}", "")
            kind = kind or oid.split("--")[0]
            if not reuse:
                known.append((oid, kind))
            objects = []
            first = draw(st.integers(1, 3))
            for ver_n in range(first, first + draw(st.integers(1, 3))):
                stored = [v for (i, v) in model.versions if i == oid and v == parse_micros(_stamp(ver_n))]
                if stored:  # the same version again: the identical object (a conflict only when asked for)
                    body = dict(model.versions[(oid, stored[0])].body)
                    if draw(st.integers(0, 9)) == 0:
                        body["description"] = "changed"
                    previous = model.versions[(oid, stored[0])]
                    objects.append((oid, stored[0], Version(who.org, previous.level, previous.granular,
                                                             previous.revoked, body)))
                    continue
                markings = draw(st.lists(st.sampled_from(list(MARKINGS)), max_size=2))
                level = _level(markings)
                granular = draw(st.one_of(st.none(), st.integers(0, 4)))
                revoked = draw(st.integers(0, 6)) == 0
                body = _body(oid, kind, ver_n, markings, granular, revoked, f"{self.tag}-{step}-{ver_n}")
                objects.append((oid, parse_micros(_stamp(ver_n)), Version(who.org, level, granular, revoked, body)))
            members = model.communities[coll.community]
            orgs = frozenset(draw(st.sets(st.sampled_from(sorted(members))))) if members and draw(
                st.booleans()) else frozenset()
            people = [p.id for o in model.orgs if o.id in members for p in o.people]
            named = frozenset(draw(st.sets(st.sampled_from(people)))) if people and draw(st.booleans()) else frozenset()
            yield Post(who, coll, objects, orgs, named)


# --- reading through every path ------------------------------------------------------------------------------


def headers(who: Who, *, post: bool = False) -> dict[str, str]:
    found = {"Accept": TAXII}
    if who.key:
        found["Authorization"] = f"Bearer {who.key}"
    if post:
        found["Content-Type"] = TAXII
    return found


class Reads:
    def __init__(self, client: httpx.AsyncClient, model: Model) -> None:
        self.client, self.model = client, model

    async def get(self, who: Who, path: str, **params: str) -> httpx.Response:
        return await self.client.get(path, headers=headers(who), params=params)

    async def pages(self, who: Who, path: str, key: str, **params: str) -> list[Any]:
        """Every item of a paged TAXII resource, following ``next``; checks more/next and the date headers."""
        found: list[Any] = []
        cursor: str | None = None
        for _ in range(200):
            query = {**params, "limit": "2", **({"next": cursor} if cursor else {})}
            response = await self.get(who, path, **query)
            assert response.status_code == 200, (who.label, path, response.text)
            body = response.json()
            items = body.get(key, [])
            found += items
            if items:
                first, last = response.headers["X-TAXII-Date-Added-First"], response.headers["X-TAXII-Date-Added-Last"]
                assert parse_micros(first) <= parse_micros(last)
            else:
                assert "X-TAXII-Date-Added-First" not in response.headers
            if not body["more"]:
                assert "next" not in body
                return found
            assert items and body["next"], "more without objects or without next"
            cursor = body["next"]
        raise AssertionError("paging did not end")

    def expect_description(self, who: Who, coll: Coll, obj: dict[str, Any]) -> None:
        """The description is served exactly when its granular marking (if any) is within the reader's reach."""
        ver = parse_micros(obj["modified"])
        version = self.model.versions[(obj["id"], ver)]
        shown = version.granular is None or version.granular <= version.level or self.model.sees_at(
            who, coll, obj["id"], ver, version.granular)
        assert ("description" in obj) is shown, (who.label, obj["id"], version)
        if shown:
            assert obj["description"] == version.body["description"]

    async def check(self, who: Who) -> None:
        model = self.model
        listing = await self.get(who, "/taxii2/api/collections/")
        wanted = {c.id: (model.may_read(who, c), model.may_write(who, c)) for c in model.collections
                  if model.may_read(who, c) or model.may_write(who, c)}
        if who.role is Role.ANONYMOUS and listing.status_code != 200:
            assert listing.status_code == 401 and not wanted
        else:
            got = {c["id"]: (c["can_read"], c["can_write"]) for c in listing.json().get("collections", [])}
            assert {k: v for k, v in got.items() if k in {c.id for c in model.collections}} == wanted, who.label
        ids = sorted({oid for (_, oid, _) in model.members} | {oid for (oid, _) in model.versions})
        for coll in model.collections:
            base = f"/taxii2/api/collections/{coll.id}"
            readable = model.may_read(who, coll)
            response = await self.get(who, f"{base}/")
            hidden_status = 401 if who.role is Role.ANONYMOUS else 404
            if not (readable or model.may_write(who, coll)):
                assert response.status_code == hidden_status, (who.label, response.text)
                assert (await self.get(who, f"{base}/objects/")).status_code == hidden_status
                for oid in ids:
                    assert (await self.get(who, f"{base}/objects/{oid}/")).status_code == hidden_status
                continue
            assert response.status_code == 200
            if not readable:
                continue
            for which in ("all", "last", "first"):
                objects = await self.pages(who, f"{base}/objects/", "objects", **{"match[version]": which})
                pairs = [(o["id"], parse_micros(o["modified"])) for o in objects]
                assert len(pairs) == len(set(pairs)), (who.label, "repeated")
                assert set(pairs) == model.visible(who, coll, which), (who.label, coll.title, which)
                for obj in objects:
                    self.expect_description(who, coll, obj)
            manifest = await self.pages(who, f"{base}/manifest/", "objects", **{"match[version]": "all"})
            assert {(r["id"], parse_micros(r["version"])) for r in manifest} == model.visible(who, coll, "all")
            if who.key is not None:  # the JSON API needs a key
                legacy = await self.get(who, f"/api/v1/collections/{coll.id}/objects", version="all", limit="1000")
                assert {(o["id"], parse_micros(o["modified"])) for o in legacy.json()["objects"]} == model.visible(
                    who, coll, "all")
            for oid in ids:
                expected = {v for (i, v) in model.visible(who, coll, "all") if i == oid}
                one = await self.get(who, f"{base}/objects/{oid}/", **{"match[version]": "all"})
                versions = await self.get(who, f"{base}/objects/{oid}/versions/")
                if not expected:
                    assert one.status_code == versions.status_code == 404, (who.label, oid)
                    continue
                assert one.status_code == 200 and versions.status_code == 200
                assert {parse_micros(o["modified"]) for o in one.json()["objects"]} == expected
                assert {parse_micros(v) for v in versions.json()["versions"]} == expected
        for status_id, poster in model.statuses.items():
            response = await self.get(who, f"/taxii2/api/status/{status_id}/")
            allowed = who.role is Role.ADMIN or (who.role is not Role.ANONYMOUS and who.org == poster)
            assert response.status_code == (200 if allowed else 401 if who.role is Role.ANONYMOUS else 404)


async def check_dashboard(transport: httpx.ASGITransport, model: Model, who: Who) -> None:
    """The dashboard, signed in with ``who``'s key through its form: the feed, a search and every object's page
    show only what the oracle lets ``who`` see (a peer node's key does not sign in)."""
    async with httpx.AsyncClient(transport=transport, base_url="http://phalanx.test") as browser:
        form = await browser.get("/signin")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        signed = await browser.post("/signin", data={"csrf": csrf.group(1), "key": str(who.key)})
        if who.role is Role.PEER:
            assert signed.status_code == 403, signed.text
            return
        assert signed.status_code == 303, (who.label, signed.text)
        visible = _export_expected(model, who)
        seen = {oid for oid, _ in visible}
        feed = (await browser.get("/feed", params={"format": "json", "limit": "200"})).json()
        assert {row["id"] for row in feed["rows"]} <= seen, who.label
        found = (await browser.get("/search", params={"format": "json", "q": "family", "limit": "200"})).json()
        assert {row["id"] for row in found["rows"]} <= seen, who.label
        for oid in sorted({oid for (oid, _) in model.versions}):
            page = await browser.get(f"/objects/{oid}", params={"format": "json"})
            if oid not in seen:
                assert page.status_code == 404, (who.label, oid)
                continue
            assert page.status_code == 200, (who.label, oid, page.text)
            view = page.json()
            version = parse_micros(view["version"])
            assert version == max(v for (i, v) in visible if i == oid), (who.label, oid)  # the newest it may see
            body = model.versions[(oid, version)].body
            if view["description"]:  # only where the reader may see it (granular markings)
                assert view["description"] == body["description"]
            reader_copy = json.loads(view["raw"])
            assert ("description" in reader_copy) == bool(view["description"]), (who.label, oid)


def _export_expected(model: Model, who: Who) -> set[tuple[str, int]]:
    return {pair for c in model.collections if model.may_read(who, c) for pair in model.visible(who, c, "all")}


# --- the test ------------------------------------------------------------------------------------------------


async def _live(node: Node, builder: Builder, dashboard: Who | None = None) -> None:
    model = builder.model
    transport = httpx.ASGITransport(app=create_app(node))
    async with httpx.AsyncClient(transport=transport, base_url="http://phalanx.test") as client:
        for post in builder.posts():
            params = {}
            if post.orgs:
                params["recipients"] = ",".join(sorted(post.orgs))
            if post.people:
                names = {person.id: person.username for org in model.orgs for person in org.people}
                params["people"] = ",".join(sorted(names[p] for p in post.people))
            body = json.dumps({"objects": [v.body for _, _, v in post.objects]})
            response = await client.post(f"/taxii2/api/collections/{post.coll.id}/objects/", content=body,
                                         headers=headers(post.who, post=True), params=params)
            if not model.may_write(post.who, post.coll):
                assert response.status_code in (403, 404), (post.who.label, response.text)
                continue
            assert response.status_code == 202, response.text
            status = response.json()
            model.statuses[status["id"]] = post.who.org
            outcomes = [(d["id"], d["message"]) for d in status.get("successes", []) + status.get("failures", [])]
            assert status["status"] == "complete" and len(outcomes) == len(post.objects)
            got = {}
            for detail in status.get("successes", []) + status.get("failures", []):
                got.setdefault(detail["id"], []).append(detail["message"].split(":")[0].split(";")[0])
            expected: dict[str, list[str]] = {}
            for oid, ver, version in post.objects:
                expected.setdefault(oid, []).append(
                    predict(model, post.who, post.coll, oid, ver, version, post.orgs, post.people))
            assert {k: sorted(v) for k, v in got.items()} == {k: sorted(v) for k, v in expected.items()}, (
                post.who.label, post.coll, status)
        reads = Reads(client, model)
        for who in builder.actors:
            await reads.check(who)
        if dashboard is not None:
            await check_dashboard(transport, model, dashboard)
    for who in builder.actors:
        if who.key is None:
            continue
        actor = node.admin.authenticate(who.key)
        exported = {(i.id, i.version) for i in node.reader.export(Query(versions=(VersionFilter.ALL,)), actor=actor)}
        assert exported == _export_expected(model, who), who.label


@contextmanager
def _node(kind: str, folder: Path) -> Iterator[tuple[Node, Path | None]]:
    if kind == "postgres":
        with postgres_schema() as url:
            node = Node.open(Settings(database_url=url), upgrade=True)
            try:
                yield node, None
            finally:
                node.close()
        return
    home = folder / uuid.uuid4().hex[:12]
    url = "memory://" if kind == "memory" else f"sqlite:///{home}/phalanx.db"
    home.mkdir()
    node = Node.open(Settings(home=home, database_url=url), upgrade=True)
    try:
        yield node, home
    finally:
        node.close()


def _world(kind: str, folder: Path, data: st.DataObject, with_cli: bool) -> None:
    with _node(kind, folder) as (node, home):
        builder = Builder(node, data.draw)
        keyed = [w for w in builder.actors if w.key is not None]
        # the dashboard for one actor of one world in ten (its pages cost more than the API's reads)
        dashboard = data.draw(st.sampled_from(keyed)) if keyed and data.draw(st.integers(0, 9)) == 0 else None
        asyncio.run(_live(node, builder, dashboard))
        if with_cli and home is not None and keyed:
            who = data.draw(st.sampled_from(keyed))
            result = CliRunner().invoke(cli, ["--home", str(home), "export", "--all-versions", "--key", str(who.key)],
                                        catch_exceptions=False)
            assert result.exit_code == 0, result.output
            bundle = json.loads(result.stdout)
            assert {(o["id"], parse_micros(o["modified"])) for o in bundle["objects"]} == _export_expected(
                builder.model, who), who.label


_SETTINGS: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
}


@settings(max_examples=WORLDS, **_SETTINGS)
@given(st.data())
def test_no_world_leaks_on_sqlite(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    _world("sqlite", tmp_path_factory.getbasetemp(), data, with_cli=data.draw(st.integers(0, 9)) == 0)


@settings(max_examples=max(WORLDS // 10, 20), **_SETTINGS)
@given(st.data())
def test_no_world_leaks_in_memory(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    _world("memory", tmp_path_factory.getbasetemp(), data, with_cli=False)


@pytest.mark.postgres
@settings(max_examples=max(WORLDS // 10, 20), **_SETTINGS)
@given(st.data())
def test_no_world_leaks_on_postgres(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    _world("postgres", tmp_path_factory.getbasetemp(), data, with_cli=False)


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=(
    "a world found on 2026-11-29 (on the code before the dashboard too): a peer node's POST of two versions of "
    "an indicator gets 'conflict' for one where the oracle predicts 'restricted' (the oracle or the store's "
    "write plan is wrong about which rule comes first); not yet investigated"))
@settings(max_examples=1, **_SETTINGS)
@given(st.data())
@reproduce_failure("6.170.17", b"AXicRUyBDQAgCEK9jP+fCrDVVARhEmx6yihQg7s/nfCSdI2OlT2JKBRjYTN28/TpZl8KHNd7DBo=")
def test_a_known_world_where_a_peer_write_is_predicted_wrongly(tmp_path_factory: pytest.TempPathFactory,
                                                                data: st.DataObject) -> None:
    _world("sqlite", tmp_path_factory.getbasetemp(), data, with_cli=data.draw(st.integers(0, 9)) == 0)


def test_the_oracle_is_not_vacuous() -> None:
    """A world where someone sees something and someone does not: the comparisons above can fail."""
    model = Model([Org("identity--a", "A", [Person("u1", "alice", "identity--b")]), Org("identity--b", "B", [])],
                  {"k": {"identity--a", "identity--b"}}, [Coll("c", "c", "k", False, ())])
    body = _body("indicator--x", "indicator", 1, [BY_LEVEL[RED][0]], None, False, "t")
    a, b = Who("ka", "identity--a", Role.READER), Who("kb", "identity--b", Role.READER)
    alice = Who("kal", "identity--b", Role.READER, "u1")
    version = Version("identity--a", RED, None, False, body)
    assert predict(model, Who("kw", "identity--a", Role.CONTRIBUTOR), model.collections[0], "indicator--x", 1,
                   version, frozenset(), frozenset({"u1"})) == "added"
    coll = model.collections[0]
    assert model.visible(a, coll, "all") == {("indicator--x", 1)}
    assert model.visible(b, coll, "all") == set()
    assert model.visible(alice, coll, "all") == {("indicator--x", 1)}
    assert list(itertools.islice(model.members, 1)) == [("c", "indicator--x", 1)]
