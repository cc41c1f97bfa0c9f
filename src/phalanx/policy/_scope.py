"""The scope a sharer narrows an object to: recipient organizations and, for TLP:RED, people.

The service resolves the names a sharer gives into organizations and users; ``check_recipients`` says whether
they may be recipients in a community, ``principals`` turns them into the scope the store keeps, and
``scope_notes`` warns about recipients that do not do what a sharer might think at an object's level.
"""

from __future__ import annotations

__all__ = ["Recipients", "check_recipients", "named", "principals", "scope_notes"]

from collections.abc import Collection as Members
from dataclasses import dataclass

from ..identity import Organization, User
from ..stix import Tlp
from ._audience import ORG, PERSON, VIA_PERSON
from ._decision import Decision


@dataclass(frozen=True, slots=True)
class Recipients:
    """Who a sharer named. Both empty: nobody named (the whole community, by the rules of each level)."""

    organizations: tuple[Organization, ...] = ()
    people: tuple[User, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.organizations or self.people)


def check_recipients(recipients: Recipients, *, community: str, members: Members[str]) -> Decision:
    """Recipients must belong to the community the objects are shared into (people: through their
    organization)."""
    for org in recipients.organizations:
        if org.id not in members:
            return Decision(False, f"recipient {org.name!r} is not a member of community {community!r}")
    for person in recipients.people:
        if person.org_id not in members:
            return Decision(False, f"recipient {person.username!r} is not of a member organization of community "
                            f"{community!r}")
    return Decision(True, "every recipient belongs to the community")


def principals(recipients: Recipients) -> frozenset[str] | None:
    """The scope the store keeps for these recipients (None: nobody named). A listed person also makes their
    organization an AMBER recipient (TLP:AMBER lets them share within it), not a RED one."""
    if not recipients:
        return None
    found = {ORG + org.id for org in recipients.organizations}
    found |= {PERSON + person.id for person in recipients.people}
    found |= {VIA_PERSON + person.org_id for person in recipients.people}
    return frozenset(found)


def named(scope: frozenset[str]) -> tuple[list[str], list[str]]:
    """The organization ids and the person (user) ids a scope names, sorted: what ``principals`` was given."""
    return (sorted(p.removeprefix(ORG) for p in scope if p.startswith(ORG)),
            sorted(p.removeprefix(PERSON) for p in scope if p.startswith(PERSON)))


def scope_notes(level: Tlp, recipients: Recipients, *, public: bool = False, top: Tlp | None = None) -> list[str]:
    """Warnings for an object shared at ``level`` (parts up to ``top``) to ``recipients``, into a public
    collection or not."""
    notes = []
    if recipients and level in (Tlp.CLEAR, Tlp.GREEN) and (top or level).rank <= Tlp.GREEN.rank:
        notes.append(f"{level.title} goes to every member of the community: the recipients you named do not "
                     "narrow it")
    if not recipients and level is Tlp.RED:
        notes.append("TLP:RED with no named recipients: only your organization can read it (name recipients to "
                     "share it)")
    if public and level is not Tlp.CLEAR:
        notes.append(f"the collection is public, but only its TLP:CLEAR objects are shown to readers without "
                     f"credentials: this one is {level.title} (mark it TLP:CLEAR to publish it)")
    return notes
