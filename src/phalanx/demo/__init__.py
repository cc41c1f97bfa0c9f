"""The demo community: three organizations of an energy ISAC sharing the OASIS STIX 2.1 examples.

The bundles in this folder are the OASIS Open examples (cti-stix2-json-schemas and cti-documentation),
redistributed under their BSD-3-Clause licenses (LICENSE-*.txt beside them; SOURCE.txt says where from).
"""

from __future__ import annotations

__all__ = ["DEMO_PASSWORD", "DEMO_USERS_FILE", "DemoKey", "DemoUser", "add_demo_users", "load_demo"]

from dataclasses import dataclass
from importlib import resources

from ..identity import Actor, Role
from ..service import IngestSummary, Node

COMMUNITY = "energy-isac"
_ORGS = (
    ("Northwind Energy CERT", ("energy",), "json-schemas__threat-reports_apt1.json"),
    ("Contoso Water Utility", ("water",), "json-schemas__threat-reports_poisonivy.json"),
    ("Fabrikam Grid Operator", ("energy", "utilities"), None),
)
DEMO_PASSWORD = "sharing-is-caring"
"""The password of every demo user (a demo only: it is printed, and written beside the demo keys)."""
DEMO_USERS_FILE = "demo-users.txt"
"""In the node's home: the demo's sign-in, shown on the dashboard's sign-in page."""
_USERS = (
    ("northwind", "Northwind Energy CERT", Role.CONTRIBUTOR),
    ("contoso", "Contoso Water Utility", Role.CONTRIBUTOR),
    ("fabrikam", "Fabrikam Grid Operator", Role.READER),
    ("operator", "Northwind Energy CERT", Role.ADMIN),
)


@dataclass(frozen=True, slots=True)
class DemoUser:
    username: str
    organization: str
    role: str


@dataclass(frozen=True, slots=True)
class DemoKey:
    organization: str
    role: str
    key: str


def load_demo(node: Node) -> tuple[list[DemoKey], IngestSummary]:
    """Create the demo organizations, community, collection and keys, and share the example bundles."""
    admin = node.admin
    admin.add_community(COMMUNITY, title="Energy ISAC (demo)")
    files = sorted(p.name for p in resources.files(__package__).iterdir() if p.name.endswith(".json"))
    assigned = {name for _, _, name in _ORGS if name}
    keys: list[DemoKey] = []
    total = IngestSummary()
    for name, sectors, bundle in _ORGS:
        org = admin.add_organization(name, sectors=sectors)
        admin.join(COMMUNITY, org.id)
        for role in (Role.CONTRIBUTOR, Role.READER):
            key, _ = admin.create_key(org.id, role, label=f"demo {role.value}")
            keys.append(DemoKey(name, role.value, key))
        mine = [bundle] if bundle else [f for f in files if f not in assigned]
        actor = Actor(org.id, Role.CONTRIBUTOR)
        for file_name in mine:
            data = resources.files(__package__).joinpath(file_name).read_bytes()
            for result in node.ingest.document(actor, COMMUNITY, data, tolerant=False):
                total.record(result)
    return keys, total


def add_demo_users(node: Node) -> list[DemoUser]:
    """A person in each demo organization, and a node operator, who sign in to the dashboard with
    ``DEMO_PASSWORD``."""
    made = []
    for username, organization, role in _USERS:
        node.admin.add_user(username, org_ref=organization, role=role, password=DEMO_PASSWORD)
        made.append(DemoUser(username, organization, role.value))
    return made
