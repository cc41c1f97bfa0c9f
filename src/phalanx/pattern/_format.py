"""Print a pattern's tree back as canonical pattern text: ``parse(format_pattern(tree)).root == tree``.

Canonical: one space around operators, ``=`` and ``!=`` (never ``==`` or ``<>``), parentheses only where precedence
needs them, property names quoted only when they must be, floats without exponents. The trees ``parse`` builds
(flattened, every n-ary node with two or more operands) print to text that parses back to the same tree; a tree
that is not flattened prints to text whose tree is its flattened equivalent.
"""

from __future__ import annotations

__all__ = ["format_pattern"]

import base64
import math
from decimal import Decimal
from typing import Final

from ._ast import (
    BoolComparison,
    Comparison,
    ComparisonExpression,
    Compound,
    Constant,
    ConstantKind,
    Observation,
    ObservationExpression,
    Op,
    Pattern,
    Qualified,
    Repeats,
    StartStop,
    Within,
)

_RANK: Final = {"FOLLOWEDBY": 0, "OR": 1, "AND": 2}  # higher binds tighter


def format_pattern(root: ObservationExpression | Pattern) -> str:
    """The canonical pattern text of a tree (or of a parsed ``Pattern``'s tree).

    Raises ``ValueError`` for a tree no pattern text can express: an empty binary constant, a number that is not
    finite, a path whose first step is not a property name, a qualifier that is not positive."""
    if isinstance(root, Pattern):
        root = root.root
    return _observations(root)[0]


def _observations(node: ObservationExpression) -> tuple[str, set[str] | None]:
    """The text of ``node``, and the qualifiers written right after its ``[...]`` (None if it does not end in
    one): the grammar lets a qualifier appear only once there, so a repeated one needs parentheses."""
    if isinstance(node, Observation):
        return "[" + _comparisons(node.expression) + "]", set()
    if isinstance(node, Qualified):
        text, chain = _observations(node.expression)
        keyword = _qualifier_keyword(node.qualifier)
        if isinstance(node.expression, Compound) or (chain is not None and keyword in chain):
            text, chain = f"({text})", None
        if chain is not None:
            chain.add(keyword)
        return f"{text} {_qualifier(node.qualifier)}", chain
    rank = _RANK[node.op]
    parts = []
    for operand in node.operands:
        text = _observations(operand)[0]
        if isinstance(operand, Compound) and _RANK[operand.op] < rank:
            text = f"({text})"
        parts.append(text)
    return f" {node.op} ".join(parts), None


def _comparisons(node: ComparisonExpression) -> str:
    if isinstance(node, Comparison):
        return _comparison(node)
    parts = []
    for operand in node.operands:
        text = _comparisons(operand)
        if node.op == "AND" and isinstance(operand, BoolComparison) and operand.op == "OR":
            text = f"({text})"
        parts.append(text)
    return f" {node.op} ".join(parts)


def _comparison(node: Comparison) -> str:
    path = node.path
    if not path.steps or not isinstance(path.steps[0], str):
        raise ValueError(f"an object path starts with a property name, not {path.steps[:1]!r}")
    if node.op is Op.EXISTS:
        if node.negated:
            raise ValueError("EXISTS cannot be negated with NOT")
        return f"EXISTS {path}"
    op = f"NOT {node.op.value}" if node.negated else node.op.value
    if isinstance(node.value, tuple):
        value = "(" + ", ".join(_constant(v) for v in node.value) + ")"
    elif node.value is None:
        raise ValueError(f"{node.op.value} needs a constant")
    else:
        value = _constant(node.value)
    return f"{path} {op} {value}"


def _constant(node: Constant) -> str:
    kind, value = node.kind, node.value
    if kind is ConstantKind.STRING:
        assert isinstance(value, str)
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if kind is ConstantKind.BOOL:
        return "true" if value else "false"
    if kind is ConstantKind.INT:
        assert isinstance(value, int)
        return str(int(value))  # an int, also when it is a bool
    if kind is ConstantKind.FLOAT:
        assert isinstance(value, float)
        return _float(value)
    if kind is ConstantKind.TIMESTAMP:
        assert isinstance(value, str)
        return f"t'{value}'"
    assert isinstance(value, bytes)
    if kind is ConstantKind.HEX:
        return f"h'{value.hex()}'"
    if not value:
        raise ValueError("an empty binary constant has no pattern text (b'' is not valid; h'' is)")
    return f"b'{base64.b64encode(value).decode('ascii')}'"


def _float(value: float) -> str:
    """A float in the grammar's form (digits, a '.', digits: no exponent), exactly (the shortest repr)."""
    if not math.isfinite(value):
        raise ValueError(f"a pattern has no text for the number {value}")
    text = repr(value)
    if "e" in text:
        text = format(Decimal(text), "f")
        if "." not in text:
            text += ".0"
    return text


def _qualifier_keyword(qualifier: Within | Repeats | StartStop) -> str:
    return "WITHIN" if isinstance(qualifier, Within) else "REPEATS" if isinstance(qualifier, Repeats) else "START"


def _qualifier(qualifier: Within | Repeats | StartStop) -> str:
    if isinstance(qualifier, Within):
        seconds = qualifier.seconds
        if not seconds > 0:
            raise ValueError(f"WITHIN needs a positive number of seconds, not {seconds}")
        return f"WITHIN {_float(seconds) if isinstance(seconds, float) else seconds} SECONDS"
    if isinstance(qualifier, Repeats):
        if not qualifier.times > 0:
            raise ValueError(f"REPEATS needs a positive number of times, not {qualifier.times}")
        return f"REPEATS {qualifier.times} TIMES"
    return f"START t'{qualifier.start}' STOP t'{qualifier.stop}'"
