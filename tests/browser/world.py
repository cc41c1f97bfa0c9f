"""The node the browser tests (and ``tests.browser.screenshots``) look at: the demo community of ``phalanx init
--demo`` (three organizations of an energy ISAC sharing the OASIS examples), people who sign in with passwords, a
node administrator, an indicator with sightings and a report, served by uvicorn on a loopback port as ``phalanx
serve`` serves it (the same ``create_app``)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phalanx.config import Settings
from phalanx.demo import load_demo
from phalanx.identity import Actor, Organization, Role
from phalanx.service import Node
from phalanx.stix import Tlp, tlp_marking_definition
from tests.streams.server import served

COMMUNITY = "energy-isac"


@dataclass(frozen=True)
class Person:
    username: str
    password: str
    org: Organization
    key: str
    """A contributor API key of the person's organization."""

    @property
    def actor(self) -> Actor:
        return Actor(self.org.id, Role.CONTRIBUTOR)


@dataclass
class World:
    node: Node
    url: str
    home: Path
    people: dict[str, Person]
    """alice (Northwind Energy CERT), bob (Contoso Water Utility), carol (Fabrikam Grid Operator), all
    contributors; olga, the node's administrator (of Northwind), also ``operator``."""
    indicator: dict[str, Any]
    """An indicator (TLP:GREEN) carrying ``SIGHTED_VALUE``, sighted by the three organizations."""
    report: dict[str, Any]
    stack: ExitStack = field(default_factory=ExitStack)

    @property
    def alice(self) -> Person:
        return self.people["alice"]

    @property
    def bob(self) -> Person:
        return self.people["bob"]

    @property
    def carol(self) -> Person:
        return self.people["carol"]

    @property
    def operator(self) -> Person:
        return self.people["olga"]

    # the JSON API, as a member's program uses it
    def api(self, person: Person, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method, headers={
            "Authorization": f"Bearer {person.key}", "Content-Type": "application/json",
            "Accept": "application/json"})
        with urllib.request.urlopen(request, timeout=15) as response:
            return json.loads(response.read())

    def share(self, person: Person, *objects: dict[str, Any], recipients: tuple[Organization, ...] = ()) -> None:
        """``objects`` shared by ``person``'s organization through ``POST /api/v1/collections/{ref}/objects``
        (to ``recipients`` only, when named)."""
        query = "?recipients=" + urllib.parse.quote(",".join(o.id for o in recipients)) if recipients else ""
        answer = self.api(person, "POST", f"/api/v1/collections/{COMMUNITY}/objects{query}",
                          {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": list(objects)})
        assert answer["refused"] == 0 and answer["accepted"] == len(objects), answer


def marking(level: Tlp) -> list[str]:
    return [str(tlp_marking_definition(level)["id"])]


def stamp() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"


def indicator(value: str, *, tlp: Tlp = Tlp.GREEN, kind: str = "ipv4-addr", **extra: Any) -> dict[str, Any]:
    """A new indicator for ``value`` (a ``kind`` observable: ipv4-addr, domain-name, url, file:name...)."""
    now = stamp()
    path = "file:name" if kind == "file" else f"{kind}:value"
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return {"type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}", "created": now,
            "modified": now, "indicator_types": ["malicious-activity"], "pattern": f"[{path} = '{escaped}']",
            "pattern_type": "stix", "valid_from": now, "object_marking_refs": marking(tlp), **extra}


def report(name: str, description: str, refs: list[str], *, tlp: Tlp = Tlp.GREEN, **extra: Any) -> dict[str, Any]:
    now = stamp()
    return {"type": "report", "spec_version": "2.1", "id": f"report--{uuid.uuid4()}", "created": now,
            "modified": now, "name": name, "description": description, "published": now,
            "report_types": ["threat-report"], "object_refs": refs, "object_marking_refs": marking(tlp), **extra}


SIGHTED_VALUE = "203.0.113.66"
PASSWORDS = {"alice": "north wind blows 42", "bob": "contoso pumps water 7", "carol": "fabrikam grid hums 9",
             "olga": "runs the whole hub 1"}
_ORGS = {"alice": "Northwind Energy CERT", "bob": "Contoso Water Utility", "carol": "Fabrikam Grid Operator",
         "olga": "Northwind Energy CERT"}

REPORT_BODY = """\
## What we saw

Beaconing from three substations to **{value}** over TCP/443 between 02:00 and 04:00 UTC, with a
self-signed certificate. See the [CISA advisory](https://www.cisa.gov/) for the tooling.

1. Block the address at the perimeter.
2. Search proxy logs for the last 30 days.
"""


@contextmanager
def world(home: Path, **settings: Any) -> Iterator[World]:
    """The node of the browser tests in ``home``, served on a free loopback port."""
    home.mkdir(parents=True, exist_ok=True)
    node = Node.open(Settings(home=home, database_url=f"sqlite:///{home / 'phalanx.db'}",
                              stream_heartbeat_seconds=1.0, **settings), upgrade=True)
    with ExitStack() as stack:
        stack.callback(node.close)
        load_demo(node)
        admin = node.admin
        people: dict[str, Person] = {}
        for username, org_name in _ORGS.items():
            org = admin.organization(org_name)
            role = Role.ADMIN if username == "olga" else Role.CONTRIBUTOR
            admin.add_user(username, org_ref=org.id, role=role, password=PASSWORDS[username])
            key, _ = admin.create_key(org.id, Role.CONTRIBUTOR, label=f"browser tests ({username})")
            people[username] = Person(username, PASSWORDS[username], org, key)
        sighted = indicator(SIGHTED_VALUE, name=f"C2 server {SIGHTED_VALUE}",
                            description="Command-and-control address seen beaconing from substations.",
                            labels=["c2", "energy"])
        story = report("Substation beaconing, week 12", REPORT_BODY.format(value=SIGHTED_VALUE), [sighted["id"]],
                       labels=["energy"])
        carol = people["carol"]
        results = node.ingest.document(carol.actor, COMMUNITY, json.dumps(
            {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": [sighted, story]}).encode())
        assert all(r.outcome == "accepted" for r in results), results
        for name in ("alice", "bob", "carol"):
            found = node.sightings.record(people[name].actor, sighted["id"], count=3)
            assert found.outcome == "accepted", found
        url = stack.enter_context(served(node))
        built = World(node, url, home, people, sighted, story, stack)
        yield built


def wait_for(check: Any, *, timeout: float = 10.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout} s")
        time.sleep(0.05)


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    """A plain GET (no cookies): the status, headers and body."""
    try:
        with urllib.request.urlopen(url, timeout=15) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers.items()), exc.read()
