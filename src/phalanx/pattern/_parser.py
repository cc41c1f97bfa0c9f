"""The STIX 2.1 pattern parser (STIX 2.1 section 9; the grammar is the OASIS ``STIXPattern.g4``).

``parse(text)`` returns a ``Pattern`` or raises ``InvalidPattern`` with the offset of the first problem and what
was expected there. It accepts what the OASIS reference validator (``stix2patterns``, STIX 2.1) accepts, with the
deliberate differences listed in tests/pattern/test_parser.py.

The parser is a loop over the tokens with an explicit stack of open parentheses, not a recursive descent: a pattern
of 50,000 ``OR`` operands or of deep parentheses cannot exhaust Python's stack (nesting is limited to ``MAX_DEPTH``
with a clear error). The operands and operators of one parenthesis level are collected in lists and combined once,
by precedence, into the flattened n-ary nodes of ``_ast``.

The grammar, as parsed here (precedence FOLLOWEDBY < OR < AND; qualifiers bind tightest)::

    pattern      := observations END
    observations := unit ((AND | OR | FOLLOWEDBY) unit)*
    unit         := ('[' comparisons ']' | '(' observations ')') qualifier*
    qualifier    := WITHIN number SECONDS | REPEATS int TIMES | START timestamp STOP timestamp
    comparisons  := test ((AND | OR) test)*
    test         := path NOT? operator constant | path NOT? IN set | EXISTS path | '(' comparisons ')'
    path         := type ':' (name | string) ('.' (name | string) | '[' (int | '*') ']')*
"""

from __future__ import annotations

__all__ = ["MAX_DEPTH", "parse"]

import re
from typing import Final, NoReturn

from phalanx.errors import InvalidPattern

from ._ast import (
    STAR,
    BoolComparison,
    Comparison,
    ComparisonExpression,
    Compound,
    Constant,
    ObjectPath,
    Observation,
    ObservationExpression,
    Op,
    Pattern,
    Qualified,
    Repeats,
    StartStop,
    Step,
    Within,
)
from ._lexer import (
    BAD,
    BOOL,
    COMPARISON,
    COMPARISON_GROUPS,
    END,
    FLOAT,
    IDENT,
    INT,
    KEYWORDS,
    OBSERVATION,
    OBSERVATION_GROUPS,
    PLAIN_PATTERN_GROUPS,
    STRING,
    TIMESTAMP,
    Token,
    plain_pattern,
    split,
    tokenize,
)
from ._values import (
    OPS,
    ORDERED,
    STRING_ONLY,
    check_comparison,
    constant,
    new_observation,
    new_pattern,
    plain_comparison,
    unescape,
)

MAX_DEPTH: Final = 100
"""The deepest a pattern may nest: parentheses open at once, and levels of its tree (operators, qualifiers,
observation, comparison). So code that walks a tree recursively (``==``, ``hash``, ``format_pattern``, a matcher)
stays far from Python's recursion limit."""

_CONSTANTS: Final = frozenset({STRING, INT, FLOAT, BOOL, TIMESTAMP, "binary", "hex"})
_OPERATOR_NAMES: Final = " (the operators: =, !=, <, <=, >, >=, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET)"
_ANY_CONSTANT: Final = "a constant (string, number, true, false, timestamp, binary or hex)"
_ORDERED_CONSTANT: Final = "a constant that has an order (string, number, timestamp, binary or hex)"
_QUALIFIERS: Final = frozenset({"WITHIN", "REPEATS", "START"})
_BROKEN_LITERALS: Final = {
    "t": "; a timestamp is t'YYYY-MM-DDThh:mm:ss[.fraction]Z', in UTC",
    "b": "; binary is b'base64', padded with '=' to a multiple of 4 characters, not empty",
    "h": "; hex is h'hex digits', an even number of them"}


def parse(text: str) -> Pattern:
    """Parse a STIX 2.1 pattern. Raises ``InvalidPattern`` (with ``position`` and ``expected``) if it is not one."""
    if not isinstance(text, str):
        raise InvalidPattern(f"expected a pattern as a string, found {type(text).__name__}", position=0)
    m = plain_pattern(text)
    if m is not None:  # the common case, '[type:path op constant]', in one match
        comparison = plain_comparison(text, m, PLAIN_PATTERN_GROUPS)
        if comparison is not None:
            return new_pattern(text, new_observation(comparison, 0))
    parser = _Parser(text)
    root = parser.pattern()
    if 3 * parser.deepest + parser.qualifiers + 8 > MAX_DEPTH:  # else the tree cannot be deeper than MAX_DEPTH
        _check_depth(text, root)
    return Pattern(text, root)


class _Parser:
    __slots__ = ("deepest", "depth", "i", "qualifiers", "text", "tokens")

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[Token] = tokenize(text)
        self.i = 0  # the next token
        self.depth = 0  # parentheses open
        self.deepest = 0  # the most parentheses open at once
        self.qualifiers = 0

    # -- observation expressions ------------------------------------------------------------------------------------

    def pattern(self) -> ObservationExpression:
        text = self.text
        if text[:1] != "[":
            self._check_start()
        tokens = self.tokens
        outer: list[tuple[list[ObservationExpression], list[str], int]] = []  # the levels around each open '('
        units: list[ObservationExpression] = []
        ops: list[str] = []
        while True:
            token = tokens[self.i]
            kind, start = token[0], token[1]
            unit: ObservationExpression
            seen: tuple[str, ...] | None  # the qualifiers of a [...], which may not repeat; None after (...)
            if kind == OBSERVATION:
                comparison = plain_comparison(text, token[3], OBSERVATION_GROUPS)
                if comparison is None:  # something to report in it: parse its tokens one by one
                    tokens[self.i:self.i + 1] = split(text, token)
                    continue
                self.i += 1
                unit, seen = new_observation(comparison, start), ()
            elif kind == "[":
                self.i += 1
                unit, seen = Observation(self._comparisons(), start), ()
            elif kind == "(":
                self._open(start)
                outer.append((units, ops, start))
                units, ops = [], []
                self.i += 1
                continue
            else:
                self._fail(("'['", "'('"))
            unit_start = start
            chained = 0
            while True:  # the qualifiers of the unit, and the parentheses it closes
                kind = tokens[self.i][0]
                if kind in _QUALIFIERS:
                    chained += 1
                    if chained > MAX_DEPTH:  # stop before building a tree _check_depth refuses
                        self._invalid(f"more than {MAX_DEPTH} qualifiers in a row: the pattern is nested too "
                                      "deeply", tokens[self.i][1])
                    if seen is not None:
                        if kind in seen:
                            self._invalid(f"{kind} qualifies this observation expression twice (to mean it, put "
                                          "the first in parentheses)", tokens[self.i][1])
                        seen += (kind,)
                    unit = Qualified(unit, self._qualifier(kind), unit_start)
                elif kind == ")" and outer:
                    units.append(unit)
                    unit = _combine_observations(units, ops)
                    units, ops, unit_start = outer.pop()
                    seen = None
                    self.depth -= 1
                    self.i += 1
                else:
                    break
            units.append(unit)
            if kind == "AND" or kind == "OR" or kind == "FOLLOWEDBY":
                ops.append(kind)
                self.i += 1
            elif kind == END and not outer:
                return _combine_observations(units, ops)
            else:
                close = "')'" if outer else "the end of the pattern"
                self._fail(("AND", "OR", "FOLLOWEDBY", "WITHIN", "REPEATS", "START", close))

    def _check_start(self) -> None:
        # As the reference validator (stix2patterns.helpers.brackets_check): the first character other than
        # whitespace and '(' must be '['. So a comment may not come first.
        text = self.text
        at = 0
        while at < len(text) and (text[at] == "(" or text[at].isspace()):
            at += 1
        if at == len(text) or text[at] != "[":
            found = "nothing: the pattern is empty" if not text.strip() else _describe(text, at, at + 1, BAD)
            raise InvalidPattern(f"expected '[' or '(' (a pattern starts with an observation expression), "
                                 f"found {found}", position=at, expected=("'['", "'('"), pattern=text)

    def _qualifier(self, kind: str) -> Within | Repeats | StartStop:
        self.qualifiers += 1
        self.i += 1
        if kind == "WITHIN":
            seconds = self._positive("a positive number of seconds", (INT, FLOAT))
            self._expect("SECONDS")
            return Within(seconds)
        if kind == "REPEATS":
            times = self._positive("a positive whole number of times", (INT,))
            self._expect("TIMES")
            assert isinstance(times, int)
            return Repeats(times)
        start = self._timestamp("START")
        self._expect("STOP")
        return StartStop(start, self._timestamp("STOP"))

    def _positive(self, what: str, kinds: tuple[str, ...]) -> int | float:
        kind, start, end, _ = self.tokens[self.i]
        if kind not in kinds or self.text[start] == "-":
            self._fail((what,))
        value = constant(self.text, kind, start, end).value
        assert isinstance(value, int | float)
        if value <= 0:
            self._invalid(f"expected {what}, found {self.text[start:end]}", start)
        self.i += 1
        return value

    def _timestamp(self, after: str) -> str:
        kind, start, end, _ = self.tokens[self.i]
        if kind != TIMESTAMP:
            self._fail((f"a timestamp t'YYYY-MM-DDThh:mm:ssZ' after {after}",))
        self.i += 1
        value = constant(self.text, kind, start, end).value
        assert isinstance(value, str)
        return value

    # -- comparison expressions -------------------------------------------------------------------------------------

    def _comparisons(self) -> ComparisonExpression:
        """The comparison expression after a '[', through its ']'."""
        text = self.text
        tokens = self.tokens
        outer: list[tuple[list[ComparisonExpression], list[str]]] = []
        tests: list[ComparisonExpression] = []
        ops: list[str] = []
        while True:
            token = tokens[self.i]
            kind, start = token[0], token[1]
            test: ComparisonExpression | None
            if kind == COMPARISON:
                test = plain_comparison(text, token[3], COMPARISON_GROUPS)
                if test is None:
                    tokens[self.i:self.i + 1] = split(text, token)
                    continue
                self.i += 1
            elif kind == IDENT:
                test = self._comparison()
            elif kind == "EXISTS":
                self.i += 1
                test = Comparison(self._path(), Op.EXISTS, None, False, start)
            elif kind == "(":
                self._open(start)
                outer.append((tests, ops))
                tests, ops = [], []
                self.i += 1
                continue
            else:
                self._fail(("an object path (object-type:property)", "EXISTS", "'('"))
            while True:  # the parentheses the test closes
                kind = tokens[self.i][0]
                if kind != ")" or not outer:
                    break
                tests.append(test)
                test = _combine_comparisons(tests, ops)
                tests, ops = outer.pop()
                self.depth -= 1
                self.i += 1
            tests.append(test)
            if kind == "AND" or kind == "OR":
                ops.append(kind)
                self.i += 1
            elif kind == "]" and not outer:
                self.i += 1
                return _combine_comparisons(tests, ops)
            else:
                self._fail(("AND", "OR", "')'" if outer else "']'"))

    def _comparison(self) -> Comparison:
        tokens = self.tokens
        start = tokens[self.i][1]
        path = self._path()
        kind = tokens[self.i][0]
        negated = kind == "NOT"
        if negated:
            self.i += 1
            kind = tokens[self.i][0]
        op = OPS.get(kind)
        if op is None:
            self._fail(("a comparison operator",) if negated else ("a comparison operator", "'.'", "'['"),
                       _OPERATOR_NAMES)
        self.i += 1
        value: Constant | tuple[Constant, ...]
        if op is Op.IN:
            value = self._set()
        else:
            kind, at, end, _ = tokens[self.i]
            if op in STRING_ONLY:
                if kind != STRING:
                    self._fail((f"a string after {op.value}",))
            elif kind not in _CONSTANTS or (kind == BOOL and op in ORDERED):
                self._fail((_ORDERED_CONSTANT if op in ORDERED else _ANY_CONSTANT,))
            value = constant(self.text, kind, at, end)
            self.i += 1
        comparison = Comparison(path, op, value, negated, start)
        check_comparison(self.text, comparison)
        return comparison

    def _path(self) -> ObjectPath:
        tokens = self.tokens
        text = self.text
        kind, start, end, _ = tokens[self.i]
        if kind != IDENT:
            self._fail(("an object type",))
        self.i += 1
        if tokens[self.i][0] != ":":
            self._fail(("':' and a property name",))
        self.i += 1
        steps: list[Step] = [self._property("a property name")]
        while True:
            kind = tokens[self.i][0]
            if kind == ".":
                self.i += 1
                steps.append(self._property("a property name or a dictionary key"))
            elif kind == "[":
                self.i += 1
                index_kind, at, index_end, _ = tokens[self.i]
                if index_kind == "*":
                    steps.append(STAR)
                elif index_kind == INT:
                    steps.append(int(text[at:index_end]))
                else:
                    self._fail(("a list index (a whole number or '*')",))
                self.i += 1
                self._expect("]")
            else:
                return ObjectPath(text[start:end], tuple(steps), start)

    def _property(self, what: str) -> str:
        kind, start, end, _ = self.tokens[self.i]
        name = self.text[start:end]
        if kind == STRING:
            self.i += 1
            return unescape(name)
        if kind == IDENT and "-" not in name:
            self.i += 1
            return name
        if kind == IDENT:
            self._fail((what,), " (quote a name that has a '-': 'SHA-256')")
        if kind in KEYWORDS or kind == BOOL:
            self._fail((what,), f" (quote a name that is a keyword: '{name}')")
        return self._fail((what,))

    def _set(self) -> tuple[Constant, ...]:
        tokens = self.tokens
        if tokens[self.i][0] != "(":
            self._fail(("a set of constants in parentheses after IN: ('a', 'b')",))
        self.i += 1
        if tokens[self.i][0] == ")":
            self.i += 1
            return ()
        values: list[Constant] = []
        while True:
            kind, start, end, _ = tokens[self.i]
            if kind not in _CONSTANTS:
                self._fail((_ANY_CONSTANT,))
            values.append(constant(self.text, kind, start, end))
            self.i += 1
            kind = tokens[self.i][0]
            if kind == ")":
                self.i += 1
                return tuple(values)
            if kind != ",":
                self._fail(("','", "')'"))
            self.i += 1

    # -- helpers ----------------------------------------------------------------------------------------------------

    def _open(self, at: int) -> None:
        self.depth += 1
        if self.depth > self.deepest:
            self.deepest = self.depth
            if self.depth > MAX_DEPTH:
                self._invalid(f"more than {MAX_DEPTH} parentheses are open here: the pattern is nested too deeply", at)

    def _expect(self, kind: str) -> None:
        if self.tokens[self.i][0] != kind:
            self._fail((f"'{kind}'" if len(kind) == 1 else kind,))
        self.i += 1

    def _invalid(self, message: str, at: int) -> NoReturn:
        raise InvalidPattern(message, position=at, expected=(), pattern=self.text)

    def _fail(self, expected: tuple[str, ...], detail: str = "") -> NoReturn:
        """Raise: the next token is none of ``expected``."""
        text = self.text
        token = self.tokens[self.i]
        if token[0] == COMPARISON or token[0] == OBSERVATION:  # name the single token that is wrong
            token = split(text, token)[0]
        kind, start, end, _ = token
        found = _describe(text, start, end, kind)
        why = ""
        if kind == IDENT and text[end:end + 1] == "'" and text[start:end] in _BROKEN_LITERALS:
            found = f"a broken constant {_excerpt(text, start, _literal_end(text, end))}"
            why = _BROKEN_LITERALS[text[start:end]]
        elif kind == BAD and text[start] == "'":
            start, why = _string_problem(text, start)
            found = "a broken string"
        elif kind == IDENT and text[start:end].upper() in KEYWORDS:
            why = f" (keywords are upper case: {text[start:end].upper()})"
        listed = expected[0] if len(expected) == 1 else ", ".join(expected[:-1]) + " or " + expected[-1]
        raise InvalidPattern(f"expected {listed}{detail}, found {found}{why}", position=start, expected=expected,
                             pattern=text)


def _check_depth(text: str, root: ObservationExpression) -> None:
    """Raise if the tree is more than MAX_DEPTH levels deep (precedence and qualifiers nest without parentheses)."""
    stack: list[tuple[ObservationExpression | ComparisonExpression, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InvalidPattern(f"this expression is more than {MAX_DEPTH} levels deep in the pattern's tree: the "
                                 "pattern is nested too deeply", position=node.position, pattern=text)
        if isinstance(node, Compound | BoolComparison):
            stack.extend((operand, depth + 1) for operand in reversed(node.operands))  # the leftmost first
        elif isinstance(node, Qualified | Observation):
            stack.append((node.expression, depth + 1))


def _combine_observations(units: list[ObservationExpression], ops: list[str]) -> ObservationExpression:
    """``units[0] ops[0] units[1] ...`` by precedence (FOLLOWEDBY < OR < AND), flattened."""
    if not ops:
        return units[0]
    if all(op == ops[0] for op in ops):
        return _compound(ops[0], units)
    followed: list[ObservationExpression] = []
    ors: list[ObservationExpression] = []
    ands = [units[0]]
    for op, unit in zip(ops, units[1:], strict=True):
        if op == "AND":
            ands.append(unit)
            continue
        ors.append(_compound("AND", ands))
        ands = [unit]
        if op == "FOLLOWEDBY":
            followed.append(_compound("OR", ors))
            ors = []
    ors.append(_compound("AND", ands))
    followed.append(_compound("OR", ors))
    return _compound("FOLLOWEDBY", followed)


def _compound(op: str, operands: list[ObservationExpression]) -> ObservationExpression:
    if len(operands) == 1:
        return operands[0]
    flat: list[ObservationExpression] = []
    for operand in operands:
        if isinstance(operand, Compound) and operand.op == op:  # from parentheses: the operators are associative
            flat.extend(operand.operands)
        else:
            flat.append(operand)
    return Compound(op, tuple(flat), flat[0].position)  # type: ignore[arg-type]


def _combine_comparisons(tests: list[ComparisonExpression], ops: list[str]) -> ComparisonExpression:
    """``tests[0] ops[0] tests[1] ...`` by precedence (OR < AND), flattened."""
    if not ops:
        return tests[0]
    if all(op == ops[0] for op in ops):
        return _bool(ops[0], tests)
    ors: list[ComparisonExpression] = []
    ands = [tests[0]]
    for op, test in zip(ops, tests[1:], strict=True):
        if op == "AND":
            ands.append(test)
        else:
            ors.append(_bool("AND", ands))
            ands = [test]
    ors.append(_bool("AND", ands))
    return _bool("OR", ors)


def _bool(op: str, operands: list[ComparisonExpression]) -> ComparisonExpression:
    if len(operands) == 1:
        return operands[0]
    flat: list[ComparisonExpression] = []
    for operand in operands:
        if isinstance(operand, BoolComparison) and operand.op == op:
            flat.extend(operand.operands)
        else:
            flat.append(operand)
    return BoolComparison(op, tuple(flat), flat[0].position)  # type: ignore[arg-type]


_QUOTED_RE: Final = re.compile(r"'[^']*'?")


def _literal_end(text: str, quote: int) -> int:
    m = _QUOTED_RE.match(text, quote)
    return m.end() if m else quote + 1


def _string_problem(text: str, quote: int) -> tuple[int, str]:
    """Where and why the quote at ``quote`` does not start a string: a bad escape, or no closing quote."""
    at = quote + 1
    while at < len(text):
        c = text[at]
        if c == "'":
            break
        if c == "\\":
            if text[at + 1:at + 2] not in ("'", "\\"):
                return at, f": {text[at:at + 2]!r} is not an escape in a STIX string (only \\' and \\\\ are)"
            at += 1
        at += 1
    return quote, ": it is never closed (a quote inside a string is written \\')"


def _describe(text: str, start: int, end: int, kind: str) -> str:
    if kind == END or start >= len(text):
        return "the end of the pattern"
    if kind == BAD:
        return repr(text[start])
    return _excerpt(text, start, end)


def _excerpt(text: str, start: int, end: int) -> str:
    return repr(text[start:min(end, start + 40)] + ("..." if end - start > 40 else ""))
