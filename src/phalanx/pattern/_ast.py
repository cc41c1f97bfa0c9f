"""The syntax tree of a STIX 2.1 pattern (STIX 2.1 section 9), as ``parse`` builds it.

Nodes are immutable. ``AND`` and ``OR`` (of comparisons, and of observations) and ``FOLLOWEDBY`` are n-ary and
flattened: ``a OR b OR c`` is one node with three operands, whatever the parentheses, because each of these
operators is associative. Qualifiers wrap the observation expression they follow. Every node keeps ``position``,
the offset in the pattern text where it starts, so that later errors can point at it; positions take no part in
equality (``==`` and ``hash`` compare what a pattern means, not where it was written).
"""

from __future__ import annotations

__all__ = [
    "STAR",
    "BoolComparison",
    "Comparison",
    "ComparisonExpression",
    "Compound",
    "Constant",
    "ConstantKind",
    "ObjectPath",
    "Observation",
    "ObservationExpression",
    "ObservationOp",
    "Op",
    "Pattern",
    "Qualified",
    "Repeats",
    "StartStop",
    "Within",
]

import enum
import re
from dataclasses import dataclass, field
from typing import Final, Literal

from ._lexer import KEYWORDS

_NAME_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RESERVED: Final = KEYWORDS | {"true", "false"}


class _Star(enum.Enum):
    STAR = "*"

    def __repr__(self) -> str:
        return "STAR"


STAR: Final = _Star.STAR
"""The list step ``[*]`` of an object path: any element of the list."""

Step = str | int | _Star
"""One step of an object path after the object type: a property name (a dictionary key when the previous
step's value is a dictionary, e.g. a hash name), a list index, or ``STAR``."""


@dataclass(frozen=True, slots=True)
class ObjectPath:
    """``object-type:property(.property|[index])*``, e.g. ``file:hashes.'SHA-256'`` or
    ``email-message:to_refs[*].value``. ``steps`` holds the first property, then each later step."""

    object_type: str
    steps: tuple[Step, ...]
    position: int = field(default=0, compare=False)

    def __str__(self) -> str:
        """The path as pattern text: a name is quoted when it is not a plain identifier, or is a keyword."""
        parts = [self.object_type, ":"]
        for i, step in enumerate(self.steps):
            if step is STAR:
                parts.append("[*]")
            elif isinstance(step, int):
                parts.append(f"[{step}]")
            else:
                if i:
                    parts.append(".")
                if _NAME_RE.fullmatch(step) and step not in _RESERVED:
                    parts.append(step)
                else:
                    parts.append("'" + step.replace("\\", "\\\\").replace("'", "\\'") + "'")
        return "".join(parts)


class ConstantKind(enum.Enum):
    STRING = "string"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    BINARY = "binary"  # b'base64'
    HEX = "hex"  # h'hex digits'
    TIMESTAMP = "timestamp"  # t'2016-01-01T00:00:00Z'


@dataclass(frozen=True, slots=True)
class Constant:
    """A literal. ``value`` is: ``str`` for STRING and TIMESTAMP (the timestamp's text, as written, validated),
    ``int`` for INT, ``float`` for FLOAT, ``bool`` for BOOL, ``bytes`` for BINARY and HEX (decoded)."""

    kind: ConstantKind
    value: str | int | float | bool | bytes
    position: int = field(default=0, compare=False)


class Op(enum.Enum):
    """A comparison operator (STIX 2.1 section 9.5)."""

    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    IN = "IN"
    LIKE = "LIKE"
    MATCHES = "MATCHES"
    ISSUBSET = "ISSUBSET"
    ISSUPERSET = "ISSUPERSET"
    EXISTS = "EXISTS"


@dataclass(frozen=True, slots=True)
class Comparison:
    """``path [NOT] op value``. ``value`` is a tuple of constants for IN, None for EXISTS, else one constant.
    ``negated`` is the ``NOT`` written before the operator (``!=`` is its own operator, not negated ``=``)."""

    path: ObjectPath
    op: Op
    value: Constant | tuple[Constant, ...] | None
    negated: bool = False
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class BoolComparison:
    """``AND`` or ``OR`` of two or more comparison expressions, inside one observation expression."""

    op: Literal["AND", "OR"]
    operands: tuple[ComparisonExpression, ...]
    position: int = field(default=0, compare=False)


ComparisonExpression = Comparison | BoolComparison


@dataclass(frozen=True, slots=True)
class Observation:
    """``[ comparison expression ]``: one observation expression, matched against the objects of one
    observed-data (or one observation)."""

    expression: ComparisonExpression
    position: int = field(default=0, compare=False)


ObservationOp = Literal["AND", "OR", "FOLLOWEDBY"]


@dataclass(frozen=True, slots=True)
class Compound:
    """``AND``, ``OR`` or ``FOLLOWEDBY`` of two or more observation expressions."""

    op: ObservationOp
    operands: tuple[ObservationExpression, ...]
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Within:
    """``WITHIN n SECONDS``: n is a positive int or float."""

    seconds: int | float


@dataclass(frozen=True, slots=True)
class Repeats:
    """``REPEATS n TIMES``: n is a positive int."""

    times: int


@dataclass(frozen=True, slots=True)
class StartStop:
    """``START t'...' STOP t'...'``: the timestamps' texts, validated."""

    start: str
    stop: str


@dataclass(frozen=True, slots=True)
class Qualified:
    """An observation expression followed by one qualifier. Several qualifiers nest: the first written is
    innermost."""

    expression: ObservationExpression
    qualifier: Within | Repeats | StartStop
    position: int = field(default=0, compare=False)


ObservationExpression = Observation | Compound | Qualified


@dataclass(frozen=True, slots=True)
class Pattern:
    """A parsed pattern: its text and its tree."""

    text: str
    root: ObservationExpression
