"""Who may do what: small rules that fail closed, each decision carrying its reason.

This is the one place where access is decided. Collection access (``may_read``, ``may_write``), administration
(``may_administer``, ``may_grant``, ``may_operate``, ``may_manage_user``, ``may_see_community``), webhooks
(``may_see_webhook``, ``may_manage_webhook``), the TLP 2.0 audience of each object version (``may_see``, compiled
for the store by ``visibility``), the level an object is stored at (``level_of``), the recipients a sharer may
name (``check_recipients``, ``principals``), and what a writer may do to others' objects (``write_guard``,
``may_pass_on``, ``delete_owner``), and sightings: what an anonymous one may carry (``anonymity``), who may learn
who made it (``may_learn_contributor``), and what a reader is told of an object's sightings (``disclose``,
k-anonymous), and the sharing network: which peers a member knows of (``may_know_peer``) and who sees the
operator's detail of federation and the log (``may_see_network_detail``).

    >>> from phalanx.identity import Actor, Role
    >>> from phalanx.policy import Shared, Venue, may_see, may_write
    >>> from phalanx.stix import Tlp
    >>> may_write(Actor("identity--a", Role.READER), community="isac", members={"identity--a"}).allowed
    False
    >>> isac = Venue("isac", frozenset({"identity--a", "identity--b"}))
    >>> red = Shared(Tlp.RED, contributor="identity--b", sharer="identity--b", scope=None, venue=isac)
    >>> may_see(Actor("identity--a", Role.READER), red).reason
    'TLP:RED is for named recipients only, and the sharer named none: only its own organization sees it'
"""

from ._access import (
    may_administer,
    may_grant,
    may_manage_key,
    may_manage_user,
    may_manage_webhook,
    may_operate,
    may_read,
    may_read_status,
    may_see_community,
    may_see_webhook,
    may_set_password,
    may_use_dashboard,
    may_write,
)
from ._audience import (
    READ_RULES,
    AnyOf,
    ReadRule,
    Shared,
    Venue,
    amber_principals,
    may_see,
    red_principals,
    visibility,
    visible_up_to,
)
from ._decision import Decision, require
from ._levels import level_of, level_story, sharing_levels, top_level_of
from ._network import may_know_peer, may_see_network_detail
from ._scope import Recipients, check_recipients, named, principals, scope_notes
from ._sightings import (
    SIGHTING_ANONYMOUS,
    SIGHTING_KIND,
    Disclosed,
    anonymity,
    disclose,
    is_anonymous,
    may_attach_observed,
    may_learn_contributor,
    sighting_level,
)
from ._writes import delete_owner, may_pass_on, stays_with_recipients, write_guard

__all__ = [
    "READ_RULES",
    "SIGHTING_ANONYMOUS",
    "SIGHTING_KIND",
    "AnyOf",
    "Decision",
    "Disclosed",
    "ReadRule",
    "Recipients",
    "Shared",
    "Venue",
    "amber_principals",
    "anonymity",
    "check_recipients",
    "delete_owner",
    "disclose",
    "is_anonymous",
    "level_of",
    "level_story",
    "may_administer",
    "may_attach_observed",
    "may_grant",
    "may_know_peer",
    "may_learn_contributor",
    "may_manage_key",
    "may_manage_user",
    "may_manage_webhook",
    "may_operate",
    "may_pass_on",
    "may_read",
    "may_read_status",
    "may_see",
    "may_see_community",
    "may_see_network_detail",
    "may_see_webhook",
    "may_set_password",
    "may_use_dashboard",
    "may_write",
    "named",
    "principals",
    "red_principals",
    "require",
    "scope_notes",
    "sharing_levels",
    "sighting_level",
    "stays_with_recipients",
    "top_level_of",
    "visibility",
    "visible_up_to",
    "write_guard",
]
