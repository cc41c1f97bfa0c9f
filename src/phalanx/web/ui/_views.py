"""Views of objects for the dashboard: plain dicts built from what the service layer returned, the same for the
HTML page and its JSON form.

A row names an object the way an analyst reads it (its name, value or pattern), its TLP, who contributed it
(unless the policy says the reader may not learn that: "anonymous"), and what the reader is told of its
sightings (k-anonymous, ``Sightings.tallies``).
"""

from __future__ import annotations

__all__ = ["Names", "display_name", "object_rows", "sightings_view"]

from collections.abc import Sequence
from typing import Any

import orjson

from ...identity import Actor
from ...policy import Disclosed, is_anonymous, may_learn_contributor
from ...service import Node
from ...stix import Tlp, format_micros
from ...store import StoredVersion

_SCO_VALUE = ("value", "name", "path", "number", "user_id", "account_login", "key", "body", "subject")
_MAX_NAME = 160


class Names:
    """Organization names, looked up once per request."""

    def __init__(self, node: Node) -> None:
        self._node = node
        self._found: dict[str, str] = {}

    def __call__(self, org_id: str) -> str:
        if org_id not in self._found:
            self._found[org_id] = self._node.admin.organization_name(org_id) or org_id
        return self._found[org_id]


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_NAME else text[: _MAX_NAME - 1] + "…"


def display_name(data: dict[str, Any]) -> str:
    """What an analyst calls the object: its name, the value it carries, its pattern, or what it links."""
    kind = data.get("type", "")
    name = data.get("name")
    if isinstance(name, str) and name.strip():
        return _clip(name)
    if kind == "indicator" and isinstance(data.get("pattern"), str):
        return _clip(data["pattern"])
    if kind == "relationship":
        return _clip(f"{_short(data.get('source_ref'))} {data.get('relationship_type', 'related-to')} "
                     f"{_short(data.get('target_ref'))}")
    if kind == "sighting":
        return _clip(f"sighting of {_short(data.get('sighting_of_ref'))}")
    if kind == "observed-data":
        return _clip(f"observed data, {data.get('number_observed', 1)} time(s)")
    if kind == "note" and isinstance(data.get("content"), str):
        return _clip(data["content"])
    if kind == "marking-definition":
        return _clip(str(data.get("name") or data.get("definition_type") or kind))
    for key in _SCO_VALUE:
        value = data.get(key)
        if isinstance(value, (str, int)) and str(value).strip():
            return _clip(str(value))
    hashes = data.get("hashes")
    if isinstance(hashes, dict) and hashes:
        algo, value = next(iter(hashes.items()))
        return _clip(f"{algo} {value}")
    return str(data.get("id", kind))


def _short(ref: object) -> str:
    return ref.split("--", 1)[0] if isinstance(ref, str) else "?"


def sightings_view(found: Disclosed | None) -> dict[str, Any] | None:
    if found is None:
        return None
    return {"organizations": found.seen, "fewer_than": found.k, "false_positive": found.false_positive,
            "own": found.own.seen > 0, "own_false_positive": found.own.false_positive > 0}


def contributor_of(actor: Actor, item: StoredVersion, data: dict[str, Any], names: Names) -> str:
    anonymous = is_anonymous(item)
    if not may_learn_contributor(actor, contributor=item.contributor, anonymous=anonymous).allowed:
        return "anonymous"
    return names(item.contributor) + (" (anonymous to others)" if anonymous else "")


def object_rows(node: Node, actor: Actor, items: Sequence[StoredVersion], names: Names, *,
                with_sightings: bool = True) -> list[dict[str, Any]]:
    tallies = node.sightings.tallies(actor, [i.id for i in items]) if with_sightings and items else {}
    rows = []
    for item in items:
        data: dict[str, Any] = orjson.loads(item.canonical)
        labels = data.get("labels")
        rows.append({
            "id": item.id,
            "type": item.type,
            "name": display_name(data),
            "tlp": Tlp.of_rank(item.level).title,
            "contributor": contributor_of(actor, item, data, names),
            "labels": [str(x) for x in labels[:8]] if isinstance(labels, list) else [],
            "sightings": sightings_view(tallies.get(item.id)),
            "added": format_micros(item.date_added),
            "added_micros": item.date_added,
            "revoked": item.revoked,
            "url": "/objects/" + item.id,
        })
    return rows
