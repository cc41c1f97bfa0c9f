"""From STIX to MISP: which MISP attribute types (the words of a warning list's ``matching_attributes``) a STIX
object path stands for, and which values a pattern alerts on.

| STIX object path | MISP attribute types |
|---|---|
| ``ipv4-addr:value``, ``ipv6-addr:value`` | ``ip-src``, ``ip-dst`` |
| ``domain-name:value`` | ``domain``, ``hostname`` |
| ``url:value`` | ``url``, ``uri`` |
| ``email-addr:value`` | ``email``, ``email-src``, ``email-dst`` |
| ``network-traffic:src_ref.value`` / ``dst_ref.value`` | ``ip-src`` / ``ip-dst``, ``domain``, ``hostname`` |
| ``domain-name:resolves_to_refs[*].value`` | ``ip-src``, ``ip-dst``, ``domain``, ``hostname`` |
| ``email-message:from_ref.value``, ``sender_ref.value`` | ``email-src`` |
| ``email-message:to_refs[*].value`` (and ``cc_refs``, ``bcc_refs``) | ``email-dst`` |
| ``x509-certificate:hashes.'SHA-256'`` (MD5, SHA-1) | ``x509-fingerprint-sha256`` (``-md5``, ``-sha1``) |
| any other ``...hashes.'SHA-256'`` (``file:``, ``artifact:``...) | ``sha256`` (``md5``, ``sha1``, ``sha512``...) |

A path on both sides (a ``network-traffic`` reference may point at an address or a domain) is checked as an
address when its value is one, else as a name. Any other path has no MISP type, and no list applies to it.
"""

from __future__ import annotations

__all__ = ["IP_KINDS", "kinds_of", "parse_path", "values_of"]

import re
from collections.abc import Iterator
from functools import lru_cache

from ..pattern import (
    STAR,
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
    Step,
)

IP_KINDS = frozenset({"ip-src", "ip-dst"})
_NAME = frozenset({"domain", "hostname"})
_VALUE: dict[str, frozenset[str]] = {
    "ipv4-addr": IP_KINDS,
    "ipv6-addr": IP_KINDS,
    "domain-name": _NAME,
    "url": frozenset({"url", "uri"}),
    "email-addr": frozenset({"email", "email-src", "email-dst"}),
}
_REFERENCED: dict[tuple[str, str], frozenset[str]] = {
    ("network-traffic", "src_ref"): frozenset({"ip-src"}) | _NAME,
    ("network-traffic", "dst_ref"): frozenset({"ip-dst"}) | _NAME,
    ("domain-name", "resolves_to_refs"): IP_KINDS | _NAME,
    ("email-message", "from_ref"): frozenset({"email-src"}),
    ("email-message", "sender_ref"): frozenset({"email-src"}),
    ("email-message", "to_refs"): frozenset({"email-dst"}),
    ("email-message", "cc_refs"): frozenset({"email-dst"}),
    ("email-message", "bcc_refs"): frozenset({"email-dst"}),
}
_HASHES = {"MD5": "md5", "SHA1": "sha1", "SHA224": "sha224", "SHA256": "sha256", "SHA512": "sha512",
           "SSDEEP": "ssdeep"}
_CERTIFICATE_HASHES = {"MD5", "SHA1", "SHA256"}
_NONE: frozenset[str] = frozenset()


@lru_cache(maxsize=4096)
def _kinds(object_type: str, steps: tuple[Step, ...]) -> frozenset[str]:
    if steps == ("value",):
        return _VALUE.get(object_type, _NONE)
    if len(steps) >= 2 and steps[-2] == "hashes" and isinstance(steps[-1], str):
        algorithm = steps[-1].upper().replace("-", "").replace("_", "")
        if object_type == "x509-certificate" and len(steps) == 2:
            return frozenset({f"x509-fingerprint-{algorithm.lower()}"}) if algorithm in _CERTIFICATE_HASHES \
                else _NONE
        return frozenset({_HASHES[algorithm]}) if algorithm in _HASHES else _NONE
    if steps[-1:] == ("value",) and isinstance(steps[0], str):
        middle = steps[1:-1]
        if middle in ((), (STAR,)) or (len(middle) == 1 and isinstance(middle[0], int)):
            return _REFERENCED.get((object_type, steps[0]), _NONE)
    return _NONE


def kinds_of(path: ObjectPath) -> frozenset[str]:
    """The MISP attribute types ``path`` stands for (empty: none, no list applies)."""
    return _kinds(path.object_type, path.steps)


_STEP = re.compile(r"""(\.?)(?:'((?:[^'\\]|\\.)*)'|([A-Za-z0-9_-]+))|\[(\*|\d+)\]""")


def parse_path(text: str) -> ObjectPath:
    """``file:hashes.'SHA-256'``, ``email-message:to_refs[*].value``... as an ``ObjectPath``; raises ValueError."""
    object_type, colon, rest = text.strip().partition(":")
    steps: list[Step] = []
    position = 0
    while colon and position < len(rest):
        match = _STEP.match(rest, position)
        if match is None:
            break
        dot, quoted, name, index = match.groups()
        if index is None and (dot == ".") != bool(steps):
            break  # a property after the first needs its dot; the first has none
        if index is not None:
            steps.append(STAR if index == "*" else int(index))
        else:
            steps.append(re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else name)
        position = match.end()
    if not colon or not object_type or not steps or position != len(rest) or not isinstance(steps[0], str):
        raise ValueError(f"not a STIX object path: {text!r}")
    return ObjectPath(object_type, tuple(steps))


def values_of(pattern: Pattern) -> Iterator[tuple[ObjectPath, str]]:
    """The values ``pattern`` alerts on: the constants of its ``=`` and ``IN`` comparisons, and of ``ISSUBSET``
    (an address inside a network), wherever they stand in the pattern. Negated comparisons (``NOT``, ``!=``)
    and the other operators (``LIKE``, ``MATCHES``, ``<``...) name no value to check."""
    stack: list[ObservationExpression | ComparisonExpression] = [pattern.root]
    while stack:
        node = stack.pop()
        if isinstance(node, Comparison):
            if node.negated or node.op not in (Op.EQ, Op.IN, Op.ISSUBSET):
                continue
            constants = node.value if isinstance(node.value, tuple) else (node.value,)
            for constant in constants:
                text = _text(constant)
                if text is not None:
                    yield node.path, text
        elif isinstance(node, BoolComparison | Compound):
            stack.extend(reversed(node.operands))
        elif isinstance(node, Observation | Qualified):
            stack.append(node.expression)


def _text(constant: Constant | None) -> str | None:
    if constant is None:
        return None
    if constant.kind is ConstantKind.STRING and isinstance(constant.value, str):
        return constant.value
    if constant.kind in (ConstantKind.HEX, ConstantKind.BINARY) and isinstance(constant.value, bytes):
        return constant.value.hex()  # a hash written h'...' is the same hash in hex
    return None
