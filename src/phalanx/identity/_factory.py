"""Validating constructors for directory records: a record with a bad name or id cannot be made."""

from __future__ import annotations

__all__ = ["new_collection", "new_community", "new_organization", "new_user"]

import re
import uuid

from ..errors import Error
from ._model import Collection, Community, Organization, Role, User

_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class InvalidName(Error):
    """A name given for an organization, community, collection or user is unusable."""

    hint = "Use a non-empty name of at most 200 characters (communities: lowercase letters, digits, - and _)."


def _name(text: str, what: str) -> str:
    name = text.strip()
    if not name or len(name) > 200 or any(ord(ch) < 0x20 or 0xD800 <= ord(ch) <= 0xDFFF for ch in name):
        raise InvalidName(f"{what} name {text!r} must be 1-200 printable characters (valid UTF-8)")
    return name


def new_organization(name: str, *, sectors: tuple[str, ...] = (), now: int) -> Organization:
    return Organization(id=f"identity--{uuid.uuid4()}", name=_name(name, "organization"),
                        sectors=tuple(_name(s, "sector") for s in sectors if s.strip()), created=now)


def new_community(name: str, *, title: str = "", now: int) -> Community:
    if not _SLUG_RE.match(name):
        raise InvalidName(f"community name {name!r} must be 1-64 lowercase letters, digits, '-' or '_'")
    return Community(name=name, title=_name(title or name, "community"), created=now)


_TYPE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,249}$")


def new_collection(title: str, *, community: str, description: str = "", now: int, public: bool = False,
                   types: tuple[str, ...] = ()) -> Collection:
    for type_ in types:
        if not _TYPE_RE.match(type_):
            raise InvalidName(f"{type_!r} is not a STIX type name (lowercase letters, digits and -)")
    return Collection(id=str(uuid.uuid4()), title=_name(title, "collection"), description=description,
                      community=community, created=now, public=public, types=tuple(dict.fromkeys(types)))


def new_user(username: str, *, org_id: str, role: Role, now: int, password_hash: str | None = None) -> User:
    return User(id=str(uuid.uuid4()), org_id=org_id, username=_name(username, "user"), role=role, created=now,
                password_hash=password_hash)
