"""Our evaluator against the OASIS reference matcher (stix2-matcher 3.0.0) on generated patterns and observations.

Hypothesis builds pattern trees over a small vocabulary (two object types and one STIX 2.1 domain type, properties
of every JSON type, lists, dictionaries, references, binary and timestamp values, every operator and qualifier),
prints them with ``format_pattern``, and builds one to three observed-data with their objects. Both engines must
give the same answer: matched or not, the same observed-data in the first binding, or both an error.

Two restrictions: ``EXISTS`` stands alone in its ``[...]`` (combined with another comparison there, the reference
raises ``TypeError`` or ``ValueError`` from its own set arithmetic: a defect), and no value is an IPv6 address (the
reference cannot compare one and raises; phalanx compares it: the deliberate difference, test_evaluate.py).
"""

from __future__ import annotations

import warnings
from random import Random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from phalanx.errors import Error
from phalanx.pattern._ast import (
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
    Qualified,
    Repeats,
    StartStop,
    Within,
)
from phalanx.pattern._evaluate import Observations, match_details
from phalanx.pattern._format import format_pattern
from phalanx.pattern._parser import parse

with warnings.catch_warnings():  # antlr4, under the reference, imports typing.io
    warnings.simplefilter("ignore", DeprecationWarning)
    from stix2matcher.matcher import match as reference_match
    from stix2patterns.exceptions import ParseException

# Generation draws from one seeded random.Random (hypothesis' st.randoms()): far cheaper than composing
# strategies, so that a few hundred examples take a few seconds; a failure prints the pattern and the objects.

TYPES = ("x",) * 12 + ("a-b",) * 7 + ("identity",)
TIMES = ("2020-01-01T00:00:00Z", "2020-01-01T00:00:01Z", "2020-01-01T00:00:03.5Z", "2020-01-01T00:00:05Z",
         "2020-01-01T00:00:10Z")

# Property values. Rare odd values (a bad timestamp, hex or address) make both engines fail: they must agree.
VALUES: dict[str, tuple[Any, ...]] = {
    "n": (0, 1, 1, 2, -1, 1.0, True, None),
    "f": (1.5, 1.5, 1.0, 0.0, 2),
    "s": ("a", "a", "b", "ab", "ba", "A", "a\n", "é", "e\u0301", "10.0.0.1", ""),
    "b": (True, True, False, 0, 1),
    "t": (*TIMES, *TIMES, *TIMES, *TIMES, "2020-1-01T00:00:00Z", "x"),
    # No IPv6: the reference cannot compare it (an error), phalanx can (a deliberate difference, test_evaluate.py).
    "ip": ("10.0.0.1", "10.0.0.1", "10.0.0.0/24", "192.168.1.1", "10.1", "10.0.0.1 x", "10.0.0.1", "bad"),
    "h_hex": ("61", "61", "6162", "c3a9", "ff", "zz"),
}
LIST_ITEMS = (1, 2, "a", "b", 1.5, None)
PROPERTIES = (*VALUES, "l", "d", "r_ref", "rs_refs")

CONSTANTS: dict[ConstantKind, tuple[Any, ...]] = {
    ConstantKind.INT: (0, 1, 1, 2, -1),
    ConstantKind.FLOAT: (1.0, 1.5, -0.5),
    ConstantKind.STRING: ("a", "a", "b", "ab", "10.0.0.1", "é", ""),
    ConstantKind.BOOL: (True, False),
    ConstantKind.HEX: (b"a", b"ab", b"\xc3\xa9", b"\xff"),
    ConstantKind.BINARY: (b"a", b"ba"),
    ConstantKind.TIMESTAMP: TIMES[:3],
}
# A timestamp constant reads every str value as a timestamp (an error when it is not one): keep them rare.
KINDS = (*(kind for kind in CONSTANTS if kind is not ConstantKind.TIMESTAMP), ) * 3 + (ConstantKind.TIMESTAMP,)
ORDERABLE = tuple(kind for kind in KINDS if kind is not ConstantKind.BOOL)
STRING_OPS = {
    Op.LIKE: ("a%", "%b", "_", "a_", "%", "ab", "é%", "a"),
    Op.MATCHES: ("^a", "b$", "a|b", ".", "^$", "\\x61", "é"),
    Op.ISSUBSET: ("10.0.0.0/8", "10.0.0.1/32", "192.168.0.0/16", "10.0.0.0/24"),
    Op.ISSUPERSET: ("10.0.0.1", "10.0.0.0/25", "10.0.0.0/24"),
}
OPS = (Op.EQ, Op.EQ, Op.EQ, Op.NE, Op.LT, Op.LE, Op.GT, Op.GE, Op.IN, Op.IN, Op.LIKE, Op.MATCHES, Op.ISSUBSET,
       Op.ISSUPERSET)
MORE_STEPS: dict[str, tuple[list[Any], ...]] = {
    "l": ([], [0], [1], [STAR], [STAR]),
    "d": ([], ["k"], ["m"], ["k"]),
    "r_ref": (["s"], ["n"], ["r_ref", "s"], ["l", STAR], []),
    "rs_refs": ([STAR, "s"], [0, "n"], [STAR, "rs_refs", STAR, "s"], [STAR], []),
}


def path(rng: Random, object_type: str, op: Op) -> ObjectPath:
    subnet = op in (Op.ISSUBSET, Op.ISSUPERSET)
    first = rng.choice(("ip", "ip", "ip", "s", "n") if subnet else PROPERTIES)
    return ObjectPath(object_type, (first, *rng.choice(MORE_STEPS.get(first, ([],)))))


def fitting(rng: Random, where: ObjectPath) -> Constant | None:
    """Half the time, a constant of the kind (and often the value) the property holds: more matches."""
    name = next((step for step in reversed(where.steps) if isinstance(step, str)), "")
    if name not in VALUES or rng.random() < 0.5:
        return None
    if name == "t":
        return Constant(ConstantKind.TIMESTAMP, rng.choice(TIMES))
    if name == "h_hex":
        return Constant(ConstantKind.HEX, bytes.fromhex(rng.choice(VALUES[name][:4])))
    value = rng.choice(VALUES[name])
    kind = {str: ConstantKind.STRING, int: ConstantKind.INT, float: ConstantKind.FLOAT,
            bool: ConstantKind.BOOL}.get(type(value))
    return Constant(kind, value) if kind is not None else None


def comparison(rng: Random, object_type: str) -> Comparison:
    op = rng.choice(OPS)
    where = path(rng, object_type, op)
    value: Constant | tuple[Constant, ...]
    if op is Op.IN:
        members = [fitting(rng, where) or Constant(rng.choice(KINDS), "?") for _ in range(rng.randint(0, 3))]
        kind = members[0].kind if members else ConstantKind.INT  # one kind for all: ints and floats may mix
        value = tuple(member if member.value != "?" and (
            member.kind is kind or {member.kind, kind} <= {ConstantKind.INT, ConstantKind.FLOAT})
            else Constant(kind, rng.choice(CONSTANTS[kind])) for member in members)
        if rng.random() < 0.05:  # a set of mixed types: an error for both
            value += (Constant(ConstantKind.STRING, "a"), Constant(ConstantKind.BOOL, True))
    elif op in STRING_OPS:
        value = Constant(ConstantKind.STRING, rng.choice(STRING_OPS[op]))
    else:
        kind = rng.choice(KINDS if op in (Op.EQ, Op.NE) else ORDERABLE)
        value = fitting(rng, where) or Constant(kind, rng.choice(CONSTANTS[kind]))
        if value.kind is ConstantKind.BOOL and op not in (Op.EQ, Op.NE):
            value = Constant(ConstantKind.INT, int(value.value))
    return Comparison(where, op, value, negated=rng.random() < 0.25)


def comparison_expression(rng: Random, object_type: str, depth: int = 0) -> ComparisonExpression:
    if depth < 2 and rng.random() < 0.3:
        operands = tuple(comparison_expression(rng, object_type, depth + 1) for _ in range(rng.randint(2, 3)))
        return BoolComparison(rng.choice(("AND", "OR")), operands)
    return comparison(rng, object_type)


def observation_expression(rng: Random, depth: int = 0) -> ObservationExpression:
    node: ObservationExpression
    if depth >= 2 or rng.random() < 0.6:
        object_type = rng.choice(TYPES)
        if rng.random() < 0.1:  # EXISTS, alone in its [...]
            node = Observation(Comparison(path(rng, object_type, Op.EXISTS), Op.EXISTS, None))
        else:
            node = Observation(comparison_expression(rng, object_type))
    else:
        operands = tuple(observation_expression(rng, depth + 1) for _ in range(rng.randint(2, 3)))
        node = Compound(rng.choice(("AND", "OR", "FOLLOWEDBY")), operands)
    for chance in (0.3, 0.1):  # sometimes two qualifiers: REPEATS ... WITHIN ...
        if rng.random() >= chance:
            break
        qualifier = rng.choice((
            lambda: Within(rng.choice((1, 2, 5, 0.5))),
            lambda: Repeats(rng.randint(1, 3)),
            lambda: StartStop(rng.choice(TIMES), rng.choice(TIMES)),
        ))()
        node = Qualified(node, qualifier)
    return node


def stix_objects(rng: Random) -> list[dict[str, Any]]:
    ids = [f"{rng.choice(TYPES)}--{i}" for i in range(rng.randint(1, 4))]
    known = [*ids, *ids, "x--99"]  # and an id that names nothing
    scos: list[dict[str, Any]] = []
    for object_id in ids:
        sco: dict[str, Any] = {"type": object_id.split("--")[0], "id": object_id}
        for name in PROPERTIES:
            if rng.random() < 0.75:
                if name == "r_ref":
                    sco[name] = rng.choice(known)
                elif name == "rs_refs":
                    sco[name] = [rng.choice(known) for _ in range(rng.randint(0, 3))]
                elif name == "l":
                    sco[name] = [rng.choice(LIST_ITEMS) for _ in range(rng.randint(0, 3))]
                elif name == "d":
                    sco[name] = {key: rng.choice((1, "a", 2.5, "b", 0)) for key in ("k", "m") if rng.random() < 0.7}
                else:
                    sco[name] = rng.choice(VALUES[name])
        scos.append(sco)
    observed: list[dict[str, Any]] = []
    for number in range(rng.randint(1, 3)):
        first, last = sorted((rng.choice(TIMES), rng.choice(TIMES)))
        observed.append({
            "type": "observed-data", "id": f"observed-data--{number}", "first_observed": first,
            "last_observed": last, "number_observed": rng.randint(1, 3),
            "object_refs": [rng.choice(ids) for _ in range(rng.randint(1, 3))],
        })
    return [*observed, *scos]


def reference(text: str, objects: list[dict[str, Any]]) -> tuple[str, Any]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = reference_match(text, [{"type": "bundle", "objects": objects}], stix_version="2.1")
    except ParseException:
        return "parse", None
    except Exception as exc:  # MatcherException, and what the reference lets escape (binascii.Error...)
        return "error", type(exc).__name__
    observed = [obj["id"] for obj in objects if obj["type"] == "observed-data"]
    return "answer", sorted(observed.index(sdo["objects"][0]["id"]) for sdo in found)


def ours(text: str, objects: list[dict[str, Any]]) -> tuple[str, Any]:
    try:
        details = match_details(parse(text), Observations.from_stix(objects))
    except Error as exc:
        return "error", type(exc).__name__
    return "answer", list(details.observations) if details else []


@settings(max_examples=300, deadline=None)
@given(st.randoms(use_true_random=False))
def test_same_answer_as_the_reference(rng: Random) -> None:
    text = format_pattern(observation_expression(rng))
    objects = stix_objects(rng)
    theirs = reference(text, objects)
    if theirs[0] == "parse":  # a parser matter (test_parser.py), not the evaluator's
        return
    mine = ours(text, objects)
    assert mine[0] == theirs[0], (text, objects, mine, theirs)
    if theirs[0] == "answer":
        assert mine[1] == theirs[1], (text, objects, mine, theirs)
