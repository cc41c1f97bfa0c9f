"""Search: what an actor may read, by a value it pastes, by words, by type, label, contributor and time.

    >>> from phalanx.config import Settings
    >>> from phalanx.identity import Actor, Role
    >>> from phalanx.service import Node
    >>> from phalanx.service._search import Wanted
    >>> node = Node.open(Settings(database_url="memory://"), upgrade=True)
    >>> acme = node.admin.add_organization("ACME CERT")
    >>> found = node.search.search(Actor(acme.id, Role.READER), Wanted(text="198.51.100.7 emotet"))
    >>> (found.value, found.terms, found.items)
    (None, ('198.51.100.7', 'emotet'), [])
    >>> node.close()

Two answers, both made only of what the actor may read:

* **by value**: a text that is one IP address, domain, URL, e-mail address or hash (``phalanx.analysis.detect``,
  defanged forms such as ``evil[.]example`` and ``hxxp://`` accepted) is correlated (``Correlation.of_value``):
  the objects carrying it, and the organizations that reported it, first first, as correlation discloses them;
* **by text**: the newest objects whose names, descriptions, labels or patterns hold every word of the text
  (``phalanx.analysis._text``), through the store's text index (``Store.search``), with the filters that are
  terms of the index too (a type, a label) and those the query applies (a contributor, a time range). The
  actor's visibility, collection by collection, is part of that query, so the limit counts only what the actor
  sees; the versions found are then read through ``Reader.page`` (granular markings applied), as every read is.

The reading is bounded whatever the actor may see: a search examines only the newest ``scan`` versions the index
holds for its terms and time range (``Store.search_horizon``, as the feed reads each collection within
``Reader.horizon``; the contributor filter, not a term of the index, narrows what is found among them), so a
member who may see few of a million matches gets its answer at once, with ``Found.next`` to search further back
(``Found.bounded``). That position tells roughly how many versions matched in all, the actor's or not (one
continuation per ``scan`` of them): their number, never what they are.

A search by contributor leaves out the anonymous sightings of organizations other than the actor's: the filter
would otherwise tell who made them (``phalanx.policy.may_learn_contributor``).
"""

from __future__ import annotations

__all__ = ["Found", "Search", "Wanted"]

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

import orjson

from ..analysis import detect
from ..analysis._text import ALL, ANONYMOUS, label_term, query_terms, text_terms, type_term
from ..errors import InvalidParameter
from ..identity import Actor
from ..policy import is_anonymous, may_learn_contributor
from ..stix import Tlp
from ..store import Store, StoredVersion, TextQuery
from ._correlation import Correlation, ValueCorrelation
from ._reindex import each_version

MAX_LIMIT = 200
SCAN = 5000
"""The text-index matches one search examines at most (``Search.scan``): ~1.2 us each on SQLite."""
_DEFANGED = (("[.]", "."), ("(.)", "."), ("{.}", "."), ("[dot]", "."), ("[:]", ":"), ("[@]", "@"), ("[at]", "@"))
_HXXP = re.compile(r"^hxxp(s?)://", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Wanted:
    """What to search for. Every part narrows the answer; all empty: the newest objects the actor may read."""

    text: str = ""
    type: str | None = None
    label: str | None = None
    organization: str | None = None
    """The contributing organization's id."""
    since: int | None = None
    """Added at or after (microseconds)."""
    until: int | None = None
    """Added before (microseconds)."""


@dataclass(frozen=True, slots=True)
class Found:
    value: ValueCorrelation | None
    """The text was a value: who reported it, and the objects carrying it (as correlation tells them)."""
    carrying: list[StoredVersion]
    """Those objects as the actor reads them, that the other filters admit, newest first."""
    items: list[StoredVersion]
    """The newest objects matching the words and filters (those in ``carrying`` left out), newest first."""
    terms: tuple[str, ...]
    """The words searched for."""
    more: bool
    """Whether there is a next page to read (``next``): more ``items``, or matches beyond the bound."""
    next: int | None
    """Where the next page of ``items`` starts (``before``); None when there is none."""
    bounded: bool = False
    """Whether the bound stopped the reading (fewer than the limit found among the newest ``scan`` matches, which
    are not all): ``next`` then searches further back."""
    scan: int = SCAN
    """The matches, the actor's or not, that one search examines at most."""


def refang(text: str) -> str:
    """A defanged value as it is meant (``evil[.]example`` -> ``evil.example``, ``hxxp://`` -> ``http://``)."""
    value = text.strip()
    for written, meant in _DEFANGED:
        value = value.replace(written, meant)
    return _HXXP.sub(lambda m: f"http{m.group(1)}://", value)


class Search:
    def __init__(self, store: Store, correlation: Correlation, *, scan: int = SCAN) -> None:
        self._store = store
        self._correlation = correlation
        self.scan = scan
        """The text-index matches one search examines at most (the bound, ``Found.bounded``)."""

    def search(self, actor: Actor, wanted: Wanted, *, limit: int = 50, before: int | None = None) -> Found:
        """The objects ``actor`` may read that ``wanted`` asks for: ``limit`` at most, newest first, those added
        before ``before`` (a ``Found.next``) when given, among the newest ``scan`` versions carrying the words and
        the index's filters (whoever may read them)."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise InvalidParameter(f"limit must be a whole number from 1 to {MAX_LIMIT}")
        if wanted.since is not None and wanted.until is not None and wanted.since >= wanted.until:
            raise InvalidParameter("the time range ends before it begins", hint="Give a 'since' before 'until'.")
        readable, served = self._correlation.readable(actor)
        value = self._value(actor, wanted.text)
        carrying: list[StoredVersion] = []
        if value is not None:
            seen = self._correlation.visible(actor, [c.id for c in value.objects], readable)
            carrying = sorted((s.version for s in seen.values() if self._admits(actor, wanted, s.version)),
                              key=lambda v: -v.date_added)
        # The objects carrying the value are shown apart: the words' matches leave them out, on every page.
        shown = {v.id for v in carrying}
        terms = query_terms(refang(wanted.text))
        query = self._query(actor, wanted, terms, limit=limit + 1 + len(shown), before=before)
        # The bound: the index's newest ``scan`` matches, the actor's or not, are examined; ``beyond``, the next
        # one (None: there is none, every match is examined), bounds the store's query below, the visibility
        # still part of it, and is where searching further back starts (``before`` is exclusive).
        beyond = self._store.search_horizon(query, self.scan + 1)
        if beyond is not None:
            query = replace(query, after=beyond)  # above ``after`` already: the horizon keeps to the query's bounds
        remaining = [m for m in self._store.search(query, readable, types=served) if m.id not in shown]
        listed, more = remaining[:limit], len(remaining) > limit
        bounded = not more and beyond is not None
        seen = self._correlation.visible(actor, list(dict.fromkeys(m.id for m in listed)), readable)
        items = [seen[i].version for i in dict.fromkeys(m.id for m in listed) if i in seen]
        following = listed[-1].stored if more else beyond + 1 if beyond is not None else None
        return Found(value, carrying, items, terms, following is not None, following, bounded, self.scan)

    def _value(self, actor: Actor, text: str) -> ValueCorrelation | None:
        meant = refang(text)
        if not meant or any(c.isspace() for c in meant) or detect(meant) is None:
            return None
        return self._correlation.of_value(actor, meant, limit=100)

    @staticmethod
    def _query(actor: Actor, wanted: Wanted, terms: tuple[str, ...], *, limit: int, before: int | None) -> TextQuery:
        all_of = list(terms)  # the words first, then a label, then the type: the least common first, likely
        if wanted.label:
            all_of.append(label_term(wanted.label))
        if wanted.type:
            all_of.append(type_term(wanted.type))
        none_of: tuple[str, ...] = ()
        contributors: tuple[str, ...] = ()
        if wanted.organization:
            contributors = (wanted.organization,)
            if not may_learn_contributor(actor, contributor=wanted.organization, anonymous=True).allowed:
                none_of = (ANONYMOUS,)
        bounds = [b for b in (wanted.until, before) if b is not None]
        return TextQuery(tuple(all_of) or (ALL,), none_of, contributors,
                         None if wanted.since is None else wanted.since - 1, min(bounds) if bounds else None, limit)

    @staticmethod
    def _admits(actor: Actor, wanted: Wanted, item: StoredVersion) -> bool:
        """Whether an object carrying the value (one the actor reads) passes the other filters."""
        if wanted.type and item.type != wanted.type:
            return False
        if wanted.since is not None and item.date_added < wanted.since:
            return False
        if wanted.until is not None and item.date_added >= wanted.until:
            return False
        if wanted.organization and (item.contributor != wanted.organization or not may_learn_contributor(
                actor, contributor=item.contributor, anonymous=is_anonymous(item)).allowed):
            return False
        if wanted.label:
            labels = orjson.loads(item.canonical).get("labels")
            want = label_term(wanted.label)
            if not isinstance(labels, list) or not any(isinstance(x, str) and label_term(x) == want for x in labels):
                return False
        return True

    # the operator -----------------------------------------------------------------------------------------

    def reindex(self, *, batch: int = 1000, progress: Callable[[int], None] | None = None) -> int:
        """Compute the search terms of every stored version again and store them (for versions stored before the
        store kept them, or after the way terms are computed changed); returns how many versions."""
        return each_version(
            self._store, lambda item: text_terms(item.type, item.canonical, level=Tlp.of_rank(item.level)),
            self._store.set_terms, batch=batch, progress=progress)
