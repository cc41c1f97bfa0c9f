"""STIX 2.1 patterning: parse a pattern, match it against observations, and index many patterns at once.

    >>> from phalanx.pattern import Observation, Op, format_pattern, parse
    >>> tree = parse("[ipv4-addr:value = '198.51.100.7'] OR [domain-name:value == 'example.com']").root
    >>> tree.op, len(tree.operands)
    ('OR', 2)
    >>> comparison = tree.operands[0].expression
    >>> str(comparison.path), comparison.op is Op.EQ, comparison.value.value
    ('ipv4-addr:value', True, '198.51.100.7')
    >>> format_pattern(tree)
    "[ipv4-addr:value = '198.51.100.7'] OR [domain-name:value = 'example.com']"
    >>> parse("[file:hashes.'SHA-256' = 'f00']")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    phalanx.errors.InvalidPattern: 'f00' is not a valid SHA-256 hash: expected ... 64 hex digits at position 25 (...)

``parse`` raises ``phalanx.errors.InvalidPattern`` with the offset of the problem (``position``) and what was
expected there (``expected``). ``format_pattern`` prints a tree back as canonical text:
``parse(format_pattern(tree)).root == tree``. The tree's nodes are in ``_ast``, re-exported here.
"""

from __future__ import annotations

from ._ast import (
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
    ObservationOp,
    Op,
    Pattern,
    Qualified,
    Repeats,
    StartStop,
    Step,
    Within,
)
from ._evaluate import CompiledPattern, MatchDetails, compile_pattern, match_details, matches
from ._format import format_pattern
from ._index import Hit, PatternIndex
from ._observations import Observations
from ._parser import MAX_DEPTH, parse

__all__ = [
    "MAX_DEPTH",
    "STAR",
    "BoolComparison",
    "Comparison",
    "ComparisonExpression",
    "CompiledPattern",
    "Compound",
    "Constant",
    "ConstantKind",
    "Hit",
    "MatchDetails",
    "ObjectPath",
    "Observation",
    "ObservationExpression",
    "ObservationOp",
    "Observations",
    "Op",
    "Pattern",
    "PatternIndex",
    "Qualified",
    "Repeats",
    "StartStop",
    "Step",
    "Within",
    "compile_pattern",
    "format_pattern",
    "match_details",
    "matches",
    "parse",
]
