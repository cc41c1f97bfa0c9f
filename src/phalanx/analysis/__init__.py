"""Analysis: what the community's data says beyond each object — for now, MISP warning lists.

An indicator that alerts on a known-benign value (a top-1M domain, a private address, a public DNS resolver, the
hash of an empty file) causes false positives. ``WarningLists`` checks values against the 119 MISP warning lists
that ``pymispwarninglists`` ships, read on first use and compiled into fast lookups:

    >>> from phalanx.analysis import WarningLists
    >>> lists = WarningLists.load()
    >>> [hit.name for hit in lists.check("ipv4-addr:value", "10.1.2.3")]
    ['List of RFC 1918 CIDR blocks', 'List of RFC 5735 CIDR blocks']
    >>> lists.check("ip-dst", "198.51.100.7/32") == lists.check("ipv4-addr:value", "198.51.100.7")
    True
    >>> lists.check("file:hashes.MD5", "44D88612FEA8A8F36DE82E1278ABB02F")[0].name
    'List of hashes for EICAR test virus'

``lists.flags(pattern)`` names the lists holding any value a parsed STIX pattern alerts on (docs/detection.md).

Correlation (docs/correlation.md): ``observables(obj)`` reads the observables an object carries (an indicator's
pattern, an SCO, an observed-data's objects), normalized; ``detect(text)`` tells what a free-text value is;
``correlation_keys`` is what the store indexes each version by at put time:

    >>> from phalanx.analysis import detect, observables
    >>> detect("198.51.100.7").key
    'ipv4-addr:198.51.100.7'
    >>> [o.key for o in observables({"type": "domain-name", "value": "Evil.Example."})]
    ['domain-name:evil.example']
"""

from __future__ import annotations

__all__ = [
    "HASH_KINDS",
    "MAX_OBSERVABLES",
    "MAX_VALUE",
    "REF",
    "VALUE_KINDS",
    "ListedValue",
    "Observable",
    "WarningHit",
    "WarningLists",
    "correlation_keys",
    "detect",
    "flags_for",
    "keys_of",
    "normalize",
    "observables",
    "pattern_observables",
    "references",
    "warning_flags",
]

from ._keys import REF, correlation_keys, keys_of
from ._observables import (
    HASH_KINDS,
    MAX_OBSERVABLES,
    MAX_VALUE,
    VALUE_KINDS,
    Observable,
    detect,
    normalize,
    observables,
    pattern_observables,
    references,
)
from ._warninglists import ListedValue, WarningHit, WarningLists, flags_for, warning_flags
