"""Warning lists at ingest: an indicator that alerts on a value a MISP warning list names as usually benign is
flagged (accepted with a warning naming the lists) or refused, as the ``warninglists`` setting says.

- Only indicators with ``pattern_type`` ``stix`` are checked, and only their current state: a revoked version
  (which stops the indicator) never is. A pattern that does not parse is left to validation.
- An indicator is flagged when ANY value it alerts on (``phalanx.analysis.WarningLists.listed``) is listed.
- Objects relayed by a peer node are only ever warned about, whatever the setting: this node's copy of a
  collection must not diverge from the peer's (reconciliation would fetch a refused version again on every
  pass), and the peer's operator decided what the peer accepts. The matcher still holds back flagged indicators.
- The lists are read when the first indicator is checked (``WarningLists.load()`` is shared by the process).
"""

from __future__ import annotations

__all__ = ["Screening"]

from collections.abc import Callable
from dataclasses import replace

from ..analysis import ListedValue, WarningLists
from ..errors import InvalidPattern, Violation, WarningListed
from ..identity import Actor, Role
from ..pattern import parse
from ..stix import Parsed, Refused, StixObject

_SHOWN = 3
"""Lists named in a message; the rest are counted."""


class Screening:
    """The ``warninglists`` setting ('warn', 'refuse' or 'off') applied to batches of parsed objects."""

    def __init__(self, mode: str, lists: Callable[[], WarningLists] = WarningLists.load) -> None:
        self._mode = mode
        self._lists = lists

    def batch(self, actor: Actor, batch: list[tuple[int, Parsed]], *, relayed: bool = False
              ) -> tuple[list[tuple[int, Parsed]], int]:
        """The batch with each flagged indicator carrying a warning (or, when refusing, replaced by its
        refusal), and how many were flagged. ``relayed``: the objects come from a peer node (warn only)."""
        if self._mode == "off":
            return batch, 0
        refuse = self._mode == "refuse" and not relayed and actor.role is not Role.PEER
        screened: list[tuple[int, Parsed]] | None = None
        flagged = 0
        for position, (index, item) in enumerate(batch):
            if not isinstance(item, StixObject) or item.type != "indicator" or item.revoked:
                continue
            listed = self._listed(item)
            if not listed:
                continue
            flagged += 1
            if screened is None:
                screened = list(batch)
            screened[position] = (index, _refusal(index, item, listed) if refuse else _flag(item, listed))
        return (batch if screened is None else screened), flagged

    def _listed(self, item: StixObject) -> tuple[ListedValue, ...]:
        properties = item.properties()
        text = properties.get("pattern")
        if properties.get("pattern_type") != "stix" or not isinstance(text, str):
            return ()
        try:
            pattern = parse(text)
        except InvalidPattern:
            return ()  # validation refuses it, or (tolerant) keeps it: either way there is nothing to check
        return self._lists().listed(pattern)


def _named(listed: tuple[ListedValue, ...]) -> str:
    """``'google.com' (domain-name:value) is on Tranco, Alexa, ... and 9 more lists; ...``"""
    parts = []
    for item in listed:
        names = [hit.name for hit in item.hits]
        shown = ", ".join(f"'{name}'" for name in names[:_SHOWN])
        more = f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
        parts.append(f"{item.value!r} ({item.path}) is on the MISP warning list{'s' if len(names) > 1 else ''} "
                     f"{shown}{more}")
    return "; ".join(parts)


def _flag(item: StixObject, listed: tuple[ListedValue, ...]) -> StixObject:
    warning = Violation(item.id, "pattern", "warning-list",
                        f"{_named(listed)}: usually benign, so the matcher does not alert on this indicator unless "
                        "asked to", "warning")
    return replace(item, warnings=(*item.warnings, warning))


def _refusal(index: int, item: StixObject, listed: tuple[ListedValue, ...]) -> Refused:
    error = WarningListed(f"warning list: {_named(listed)}; alerting on a usually benign value causes false "
                          "positives. Remove the value from the pattern, or ask the node's operator to set "
                          "warninglists = 'warn'")
    return Refused(index, item.id, error)
