"""The observables an object carries, normalized so that the same value reads the same wherever it appears.

    >>> from phalanx.analysis import detect, observables
    >>> observables({"type": "indicator", "pattern_type": "stix",
    ...              "pattern": "[ipv4-addr:value = '198.51.100.7'] OR [domain-name:value = 'Evil.Example.']"})
    (Observable(kind='ipv4-addr', value='198.51.100.7'), Observable(kind='domain-name', value='evil.example'))
    >>> detect("D41D8CD98F00B204E9800998ECF8427E")
    Observable(kind='md5', value='d41d8cd98f00b204e9800998ecf8427e')

Where they come from:

1. an indicator's STIX pattern: every comparison ``=`` or ``IN`` (not negated) on an SCO's ``value`` (``ipv4-addr``,
   ``ipv6-addr``, ``domain-name``, ``url``, ``email-addr``, ``mac-addr``), on any ``hashes.<algorithm>``, or on
   ``.value`` reached through a ``_ref`` (``email-message:from_ref.value``: its kind is read from the value);
2. an SCO itself: its ``value``, its ``hashes``;
3. an observed-data's embedded ``objects`` (the STIX 2.0 form), each as in 2.

Normal forms: IP addresses (and CIDR blocks) canonical (``ipaddress``), a /32 or /128 block as its address; domains
lower case without the trailing dot; URLs as given; e-mail addresses and MAC addresses lower case; hashes lower
case (hex ones) with the algorithm as kind (``md5``, ``sha1``, ``sha256``, ``sha512``, ``sha3-256``...).

This runs at put time for every object, so it is cheap: a pattern of one comparison (most indicators) is read by
a regular expression; others by ``phalanx.pattern``. At most ``MAX_OBSERVABLES`` per object, each value at most
``MAX_VALUE`` characters (longer ones are left out).
"""

from __future__ import annotations

__all__ = [
    "HASH_KINDS",
    "MAX_OBSERVABLES",
    "MAX_VALUE",
    "VALUE_KINDS",
    "Observable",
    "detect",
    "normalize",
    "observables",
    "pattern_observables",
    "references",
]

import ipaddress
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

from ..errors import Error
from ..pattern._ast import (
    BoolComparison,
    Comparison,
    ComparisonExpression,
    Compound,
    Constant,
    ConstantKind,
    ObjectPath,
    Observation,
    ObservationExpression,
    Op,
    Pattern,
    Qualified,
)

MAX_OBSERVABLES = 1000
MAX_VALUE = 2048

VALUE_KINDS = ("ipv4-addr", "ipv6-addr", "domain-name", "url", "email-addr", "mac-addr")
"""SCO types whose ``value`` is the observable."""

_HASHES = {"MD5": "md5", "SHA1": "sha1", "SHA256": "sha256", "SHA512": "sha512", "SHA3256": "sha3-256",
           "SHA3512": "sha3-512", "SHA224": "sha224", "SHA384": "sha384", "SSDEEP": "ssdeep", "TLSH": "tlsh"}
HASH_KINDS = tuple(sorted(set(_HASHES.values())))
"""The hash kinds of the STIX hash-algorithm vocabulary (other algorithms keep their name, lower case)."""
_HEX = re.compile(r"[0-9A-Fa-f]+")
_DOMAIN = re.compile(r"(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_MAC = re.compile(r"[0-9a-f]{2}(?:[:-][0-9a-f]{2}){5}")
_URL = re.compile(r"[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)
_BY_LENGTH = {32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}


class Observable(NamedTuple):
    """One observable value, normalized: ``kind`` is an SCO type (``ipv4-addr``...) or a hash algorithm (``md5``,
    ``sha256``...)."""

    kind: str
    value: str

    @property
    def key(self) -> str:
        """``kind:value``: how the store indexes it."""
        return f"{self.kind}:{self.value}"

    def __str__(self) -> str:
        return f"{self.kind} {self.value}"


def hash_kind(algorithm: str) -> str:
    """``SHA-256``, ``sha256``, ``SHA_256`` -> ``sha256``; an algorithm outside the vocabulary, lower case."""
    name = algorithm.strip()
    return _HASHES.get(name.upper().replace("-", "").replace("_", ""), name.lower())


def normalize(kind: str, value: str) -> Observable | None:
    """``value`` in the normal form of ``kind`` (an SCO type or a hash algorithm), or None when there is nothing
    to keep (empty, or too long)."""
    text = value.strip()
    if not text or len(text) > MAX_VALUE:
        return None
    if kind in ("ipv4-addr", "ipv6-addr"):
        return Observable(kind, _address(text))
    if kind == "domain-name":
        return Observable(kind, text.lower().rstrip(".") or text)
    if kind == "url":
        return Observable(kind, value)
    if kind in ("email-addr", "mac-addr"):
        return Observable(kind, text.lower())
    algorithm = hash_kind(kind)
    return Observable(algorithm, text.lower() if _HEX.fullmatch(text) else text)


def _address(text: str) -> str:
    try:
        if "/" in text:
            network = ipaddress.ip_network(text, strict=False)
            single = network.prefixlen == network.max_prefixlen
            return str(network.network_address) if single else str(network)
        return str(ipaddress.ip_address(text))
    except ValueError:
        return text.lower()  # not an address: kept as written, so the same text still meets itself


def detect(text: str) -> Observable | None:
    """The observable a free-text value is: an IPv4 or IPv6 address (or block), a URL, an e-mail address, a MAC
    address, an MD5, SHA-1, SHA-256 or SHA-512 (hex, by length), or a domain name; None when it is none of these."""
    value = text.strip()
    if not value or len(value) > MAX_VALUE:
        return None
    try:
        network = ipaddress.ip_network(value, strict=False) if "/" in value else ipaddress.ip_address(value)
        return normalize("ipv4-addr" if network.version == 4 else "ipv6-addr", value)
    except ValueError:
        pass
    if _URL.fullmatch(value):
        return Observable("url", value)
    if _EMAIL.fullmatch(value):
        return normalize("email-addr", value)
    lowered = value.lower()
    if _MAC.fullmatch(lowered):
        return normalize("mac-addr", value)
    if _HEX.fullmatch(value) and len(value) in _BY_LENGTH:
        return Observable(_BY_LENGTH[len(value)], lowered)
    domain = lowered.rstrip(".")
    if _DOMAIN.fullmatch(domain):
        return Observable("domain-name", domain)
    return None


# -------------------------------------------------------------------------------------------- objects


_SKIP_REFS = frozenset({"created_by_ref", "object_marking_refs"})


def references(obj: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """The (property, id) pairs of the objects ``obj`` refers to at its top level (``source_ref``,
    ``sighting_of_ref``, ``object_refs``...), but its creator and its markings."""
    found: list[tuple[str, str]] = []
    for name, value in obj.items():
        if name in _SKIP_REFS or not name.endswith(("_ref", "_refs")):
            continue
        for item in value if isinstance(value, list) else (value,):
            if isinstance(item, str) and "--" in item and len(item) <= 300:
                found.append((name, item.lower()))
                if len(found) >= MAX_OBSERVABLES:
                    return tuple(found)
    return tuple(found)


def observables(obj: Mapping[str, Any]) -> tuple[Observable, ...]:
    """Every observable ``obj`` carries (see the module doc), each once, in the order met."""
    if obj.get("type") == "indicator":  # the bulk case, without the generator
        pattern = obj.get("pattern")
        if isinstance(pattern, str) and obj.get("pattern_type", "stix") == "stix":
            return pattern_observables(pattern)
        return ()
    found: dict[Observable, None] = {}
    for item in _observables(obj):
        found.setdefault(item)
        if len(found) >= MAX_OBSERVABLES:
            break
    return tuple(found)


def _observables(obj: Mapping[str, Any]) -> Iterator[Observable]:
    kind = obj.get("type")
    if kind == "indicator":
        pattern = obj.get("pattern")
        if isinstance(pattern, str) and obj.get("pattern_type", "stix") == "stix":
            yield from pattern_observables(pattern)
    elif kind == "observed-data":
        embedded = obj.get("objects")
        if isinstance(embedded, Mapping):
            for item in list(embedded.values())[:MAX_OBSERVABLES]:
                if isinstance(item, Mapping):
                    yield from _sco(item)
    else:
        yield from _sco(obj)


def _sco(obj: Mapping[str, Any]) -> Iterator[Observable]:
    kind, value = obj.get("type"), obj.get("value")
    if kind in VALUE_KINDS and isinstance(value, str):
        found = normalize(kind, value)
        if found is not None:
            yield found
    hashes = obj.get("hashes")
    if isinstance(hashes, Mapping):
        for algorithm, digest in hashes.items():
            if isinstance(algorithm, str) and isinstance(digest, str):
                found = normalize(algorithm, digest)
                if found is not None:
                    yield found


# ------------------------------------------------------------------------------------------- patterns

# The common case, one comparison: [type:value = '...'] or [type:hashes.'ALG' = '...'] (ALG quoted or not).
_SIMPLE = re.compile(
    r"\[\s*([a-z0-9-]+):(value|hashes\.(?:'([^'\\]+)'|([A-Za-z0-9_-]+)))\s*=\s*'((?:[^'\\]|\\.)*)'\s*\]"
)
_UNESCAPE = re.compile(r"\\(.)")


def pattern_observables(pattern: str | Pattern) -> tuple[Observable, ...]:
    """The observables a STIX pattern compares for equality (``=``, ``IN``); empty when it does not parse."""
    if isinstance(pattern, str):
        simple = _SIMPLE.fullmatch(pattern.strip())
        if simple is not None:
            kind, path, quoted, bare, text = simple.groups()
            value = _UNESCAPE.sub(r"\1", text) if "\\" in text else text
            found = normalize(kind, value) if path == "value" else normalize(quoted or bare, value)
            if path == "value" and kind not in VALUE_KINDS:
                found = None
            return () if found is None else (found,)
        try:
            tree = _parse(pattern)
        except Error:
            return ()
    else:
        tree = pattern
    found_all: dict[Observable, None] = {}
    for item in _walk(tree.root):
        found_all.setdefault(item)
        if len(found_all) >= MAX_OBSERVABLES:
            break
    return tuple(found_all)


def _parse(text: str) -> Pattern:
    from ..pattern import parse  # only patterns of more than one comparison need the parser

    return parse(text)


def _walk(expression: ObservationExpression) -> Iterator[Observable]:
    stack: list[ObservationExpression | ComparisonExpression] = [expression]
    while stack:  # iterative: a hostile pattern may nest deeply
        node = stack.pop()
        if isinstance(node, (Observation, Qualified)):
            stack.append(node.expression)
        elif isinstance(node, (Compound, BoolComparison)):
            stack.extend(reversed(node.operands))
        elif isinstance(node, Comparison):
            yield from _compared(node)


def _compared(comparison: Comparison) -> Iterator[Observable]:
    if comparison.negated or comparison.op not in (Op.EQ, Op.IN):
        return
    kind = _path_kind(comparison.path)
    if kind is None:
        return
    value = comparison.value
    constants: Iterable[Constant] = value if isinstance(value, tuple) else () if value is None else (value,)
    for constant in constants:
        if constant.kind is not ConstantKind.STRING or not isinstance(constant.value, str):
            continue  # hashes and addresses are strings (the parser refuses other constants for hashes)
        text = constant.value
        found = detect(text) if kind == "" else normalize(kind, text)
        if found is not None and (kind != "" or found.kind in VALUE_KINDS):
            yield found


def _path_kind(path: ObjectPath) -> str | None:
    """The kind of what ``path`` compares: an SCO type, a hash algorithm, "" (read it from the value), or None."""
    steps = path.steps
    if steps == ("value",):
        return path.object_type if path.object_type in VALUE_KINDS else None
    if len(steps) >= 2 and steps[-2] == "hashes" and isinstance(steps[-1], str):
        return hash_kind(steps[-1])
    if len(steps) >= 2 and steps[-1] == "value" and any(
            isinstance(s, str) and s.endswith(("_ref", "_refs")) for s in steps[:-1]):
        return ""
    return None

