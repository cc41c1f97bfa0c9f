"""The indexed matcher (``_index.PatternIndex``) answers exactly as evaluating every active pattern would.

The property at the heart of it (hypothesis): for random patterns (every operator, ``NOT``, ``AND``/``OR`` inside
and between observations, ``FOLLOWEDBY``, qualifiers, list steps, references, binary properties), random validity
windows and random observations drawn from a small world of values (so that patterns hit often, and values sit
on the edges: ``1``, ``1.0`` and ``true``; composed and decomposed accents; addresses, blocks and text that is
neither), ``index.match`` finds the same patterns as brute force: ``matches(pattern, observations)`` for every
active pattern (an ``InvalidObservation``, or an ``InvalidPattern`` for a constant found wrong only
when a value meets it, counting as no match), and names the observation the evaluator binds.
``match_value`` gives the same answer as ``match`` on the one-object observation it stands for, including on
patterns it decides without the evaluator. Then the incremental cases: add, replace, remove, expire.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from phalanx.errors import InvalidObservation, InvalidPattern
from phalanx.pattern import _cidr
from phalanx.pattern._anchors import Block, Equal, Fragment, like_fragment, plan, regex_fragment
from phalanx.pattern._ast import Pattern
from phalanx.pattern._evaluate import Observations, compile_pattern, match_details
from phalanx.pattern._fragments import PENDING, FragmentTable
from phalanx.pattern._index import Hit, PatternIndex
from phalanx.pattern._parser import parse

T0 = 1_700_000_000_000_000  # microseconds since the epoch
SECOND = 1_000_000

# -- the small world ---------------------------------------------------------------------------------------------

STRINGS = ["a", "ab", "abc", "A", "", "é", "e\u0301", "x.example.com", "www.x.example.com", "ab\n", "a'b",
           "10.0.0.1", "10.0.0.0/8", "10.1", "10.0.0.300", "::1", "2001:db8::1", "2001:db8::/32", "b" * 64]
NUMBERS: list[Any] = [0, 1, 2, -1, 1.0, 1.5, True, False]
TYPES = ["x-a", "x-b", "ipv4-addr", "domain-name", "identity"]
PROPERTIES = ["value", "name", "n", "list[*]", "list[0]", "list[1]", "d.k", "d.'k-2'", "ref_ref.value",
              "refs_refs[*].value", "data_hex", "value.k"]

LIKES = ["a%", "%b%", "a_c", "%", "_", "é%", "e\u0301%", "%.example.com", "ab", "10.%", "%x%y%"]
REGEXES = ["^a", "b$", "ab+c", "(?i)AB", r"x\.example", "a|b", "[0-9]+", r"\d", "^(ab)c", "é", "e\u0301", "a{0}b",
           r"^10\.0\.", "(?:ab)+", "b{2,}"]
BLOCKS = ["10.0.0.0/8", "10.0.0.1/32", "10.0.0.0/24", "2001:db8::/32", "::1/128", "nonsense/8", "10.0.0.1",
          "10.0.0.0/0"]


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _number(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


constants = st.one_of(
    st.sampled_from(STRINGS).map(_quote),
    st.sampled_from(NUMBERS).map(_number),
    st.sampled_from(["b'YWI='", "h'6162'", "h''", "t'2023-11-14T22:13:20Z'"]),
)
number_sets = st.lists(st.sampled_from([0, 1, 2, 1.0, 1.5]), max_size=3).map(lambda v: ", ".join(map(_number, v)))
string_sets = st.lists(st.sampled_from(STRINGS), max_size=3).map(lambda v: ", ".join(map(_quote, v)))
bool_sets = st.lists(st.booleans(), max_size=2).map(lambda v: ", ".join(map(_number, v)))


Target = tuple[str, str, Any]
"""(object type, path, value): a value some observed object holds at that path, for patterns that hit."""


def _literal(value: Any) -> str:
    return _quote(value) if isinstance(value, str) else _number(value)


def _twins(value: Any) -> list[Any]:
    """The value, and values that equal it in one sense and not in another: 1, 1.0 and true; composed and
    decomposed accents; another case."""
    if isinstance(value, str):
        return [value, unicodedata.normalize("NFC", value), unicodedata.normalize("NFD", value), value.upper()]
    twins = [value, float(value)]
    if value == int(value):
        twins.append(int(value))
    if value in (0, 1):
        twins.append(bool(value))
    return twins


@st.composite
def aimed(draw: st.DrawFn, target: Target) -> str:
    """A comparison likely to pass for the target's value, or to miss it narrowly."""
    object_type, path, value = target
    ops = ["=", "IN"] + (["LIKE", "MATCHES", "ISSUBSET"] if isinstance(value, str) else [])
    op = draw(st.sampled_from(ops))
    negated = "NOT " if draw(st.integers(0, 7)) == 0 else ""
    if op == "=":
        literal = _literal(draw(st.sampled_from(_twins(value))))
    elif op == "IN":
        others = draw(st.lists(st.sampled_from(STRINGS if isinstance(value, str) else [0, 1, 2, 1.5]), max_size=2))
        literal = "(" + ", ".join(map(_literal, [value, *others])) + ")"
    elif op == "LIKE":
        value = draw(st.sampled_from(_twins(value)))
        cut = draw(st.integers(0, len(value)))
        literal = _quote(draw(st.sampled_from([value[:cut] + "%", "%" + value[cut:], value[:cut] + "_" +
                                               value[cut + 1:], value])))
    elif op == "MATCHES":
        value = draw(st.sampled_from(_twins(value)))
        cut = draw(st.integers(0, len(value)))
        literal = _quote(draw(st.sampled_from([re.escape(value[cut:]), "^" + re.escape(value[:cut]),
                                               "^" + re.escape(value) + "$"])))
    else:
        parsed = _cidr.parse_value(value)
        literal = _quote(f"{value.split('/')[0]}/{draw(st.integers(1, 32))}" if parsed and parsed[0] == 4 else
                         draw(st.sampled_from(BLOCKS)))
    return f"{object_type}:{path} {negated}{op} {literal}"


@st.composite
def comparisons(draw: st.DrawFn, targets: tuple[Target, ...], object_type: str | None = None) -> str:
    if targets and draw(st.booleans()):
        chosen = [t for t in targets if object_type is None or t[0] == object_type] or list(targets)
        return draw(aimed(draw(st.sampled_from(chosen))))
    path = f"{object_type or draw(st.sampled_from(TYPES))}:{draw(st.sampled_from(PROPERTIES))}"
    op = draw(st.sampled_from(["=", "=", "=", "!=", "IN", "IN", "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET", "<",
                               ">=", "EXISTS"]))
    if op == "EXISTS":
        return f"EXISTS {path}"
    negated = "NOT " if draw(st.integers(0, 5)) == 0 else ""
    if op == "IN":
        value = f"({draw(st.one_of(number_sets, string_sets, bool_sets))})"
    elif op == "LIKE":
        value = _quote(draw(st.sampled_from(LIKES)))
    elif op == "MATCHES":
        value = _quote(draw(st.sampled_from(REGEXES)))
    elif op in ("ISSUBSET", "ISSUPERSET"):
        value = _quote(draw(st.sampled_from(BLOCKS)))
    else:
        value = draw(constants)
    return f"{path} {negated}{op} {value}"


@st.composite
def comparison_expressions(draw: st.DrawFn, targets: tuple[Target, ...], depth: int = 0) -> str:
    if depth >= 2 or draw(st.integers(0, 2)) > 0:
        return draw(comparisons(targets))
    same_type = draw(st.sampled_from(TYPES)) if draw(st.booleans()) else None
    operands = [draw(comparisons(targets, same_type)) if same_type else draw(comparison_expressions(targets, depth + 1))
                for _ in range(draw(st.integers(2, 3)))]
    return "(" + f" {draw(st.sampled_from(['AND', 'OR']))} ".join(operands) + ")"


@st.composite
def observation_expressions(draw: st.DrawFn, targets: tuple[Target, ...] = (), depth: int = 0) -> str:
    if depth >= 2 or draw(st.integers(0, 2)) > 0:
        text = f"[{draw(comparison_expressions(targets))}]"
    else:
        operands = [draw(observation_expressions(targets, depth + 1)) for _ in range(draw(st.integers(2, 3)))]
        text = "(" + f" {draw(st.sampled_from(['AND', 'OR', 'FOLLOWEDBY']))} ".join(operands) + ")"
    qualifier = draw(st.sampled_from(["", "", "", " WITHIN 10 SECONDS", " REPEATS 2 TIMES",
                                      " START t'2023-11-14T22:00:00Z' STOP t'2023-11-14T23:00:00Z'"]))
    return f"({text}{qualifier})" if qualifier else text


def targets_of(stix: list[dict[str, Any]]) -> tuple[Target, ...]:
    """The (type, path, value) the observed objects hold, for aimed comparisons."""
    found: list[Target] = []
    scalar = (str, int, float)
    for obj in stix:
        if obj["type"] == "observed-data":
            continue
        for name in ("value", "name", "n"):
            if isinstance(obj.get(name), scalar):
                found.append((obj["type"], name, obj[name]))
        for i, item in enumerate(obj.get("list", [])):
            if isinstance(item, scalar):
                found += [(obj["type"], "list[*]", item), (obj["type"], f"list[{i}]", item)]
        for key, item in obj.get("d", {}).items():
            if isinstance(item, scalar):
                found.append((obj["type"], "d.k" if key == "k" else "d.'k-2'", item))
    return tuple(found)


def _compiles(text: str) -> Pattern | None:
    try:
        pattern = parse(text)
        compile_pattern(pattern)
    except InvalidPattern:
        return None
    return pattern


patterns = observation_expressions().map(_compiles).filter(lambda p: p is not None)


def aimed_patterns(targets: tuple[Target, ...]) -> st.SearchStrategy[Pattern]:
    return observation_expressions(targets).map(_compiles).filter(lambda p: p is not None)  # type: ignore[arg-type]

windows = st.tuples(st.one_of(st.none(), st.sampled_from([T0 - SECOND, T0, T0 + SECOND])),
                    st.one_of(st.none(), st.sampled_from([T0, T0 + SECOND, T0 + 2 * SECOND])))

json_values = st.one_of(st.sampled_from(STRINGS), st.sampled_from(NUMBERS), st.none())


@st.composite
def objects(draw: st.DrawFn, number: int, ids: list[str]) -> dict[str, Any]:
    object_type = draw(st.sampled_from(TYPES[:4]))
    obj: dict[str, Any] = {"type": object_type, "id": f"{object_type}--{number}"}
    for name in draw(st.sets(st.sampled_from(["value", "name", "n", "list", "d", "ref_ref", "refs_refs",
                                              "data_hex"]), max_size=4)):
        if name == "list":
            obj[name] = draw(st.lists(json_values, max_size=3))
        elif name == "d":
            obj[name] = draw(st.dictionaries(st.sampled_from(["k", "k-2"]), json_values, max_size=2))
        elif name == "ref_ref":
            obj[name] = draw(st.sampled_from(ids))
        elif name == "refs_refs":
            obj[name] = draw(st.lists(st.sampled_from(ids), max_size=2))
        elif name == "data_hex":
            obj[name] = draw(st.sampled_from(["6162", "61", "zz"]))
        elif name == "value" and draw(st.integers(0, 5)) == 0:
            obj[name] = {"k": draw(json_values)}
        else:
            obj[name] = draw(json_values)
    return obj


@st.composite
def observation_sets(draw: st.DrawFn) -> tuple[Observations, list[dict[str, Any]]]:
    stix: list[dict[str, Any]] = []
    count = 0
    for index in range(draw(st.integers(1, 3))):
        size = draw(st.integers(1, 3))
        ids = [f"{t}--{count + i}" for t in TYPES[:4] for i in range(size)]
        members = [draw(objects(count + i, ids)) for i in range(size)]
        count += size
        when = T0 + draw(st.integers(-5, 5)) * SECOND
        stix.append({"type": "observed-data", "id": f"observed-data--{index}",
                     "first_observed": _timestamp(when), "last_observed": _timestamp(when + draw(st.integers(0, 3)) *
                                                                                     SECOND),
                     "number_observed": draw(st.integers(1, 2)), "object_refs": [o["id"] for o in members]})
        stix.extend(members)
    return Observations.from_stix(stix), stix


def _timestamp(micros: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(micros / SECOND, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- brute force ------------------------------------------------------------------------------------------------

def _active(window: tuple[int | None, int | None], at: int) -> bool:
    start, end = window
    return (start is None or start <= at) and (end is None or at < end)


def brute_force(entries: dict[str, tuple[Pattern, tuple[int | None, int | None]]], observations: Observations,
                at: int) -> dict[str, int | None]:
    """key -> the observation the evaluator binds (None for several), for every active pattern that matches."""
    found: dict[str, int | None] = {}
    for key, (pattern, window) in entries.items():
        if not _active(window, at):
            continue
        try:
            details = match_details(pattern, observations)
        except (InvalidObservation, InvalidPattern):  # what the pattern cannot read: no match
            continue
        if details is not None:
            single = type(pattern.root).__name__ == "Observation"
            found[key] = details.observations[0] if single else None
    return found


def _hits(hits: list[Hit]) -> dict[str, int | None]:
    keys = [hit.key for hit in hits]
    assert len(keys) == len(set(keys)), f"a pattern reported twice: {keys}"
    return {hit.key: hit.observation for hit in hits}


def _build(chosen: list[tuple[Pattern, tuple[int | None, int | None]]]
           ) -> tuple[PatternIndex, dict[str, tuple[Pattern, tuple[int | None, int | None]]]]:
    index = PatternIndex()
    entries = {}
    for number, (pattern, window) in enumerate(chosen):
        key = f"indicator--{number}"
        index.add(key, pattern, valid_from=window[0], valid_until=window[1], payload=number)
        entries[key] = (pattern, window)
    return index, entries


# -- the property -------------------------------------------------------------------------------------------------

@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[tuple[Pattern, tuple[int | None, int | None]]], Observations]:
    """Observations, then patterns of which about half the comparisons are aimed at values they hold."""
    observations, stix = draw(observation_sets())
    chosen = draw(st.lists(st.tuples(aimed_patterns(targets_of(stix)), windows), min_size=1, max_size=6))
    return chosen, observations


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(scenarios(), st.sampled_from([T0 - SECOND, T0, T0 + SECOND, T0 + 3 * SECOND]))
def test_match_is_brute_force(scenario: tuple[list[tuple[Pattern, tuple[int | None, int | None]]], Observations],
                              at: int) -> None:
    chosen, observations = scenario
    index, entries = _build(chosen)
    expected = brute_force(entries, observations, at)
    event("matches", "some" if expected else "none")
    event("residual patterns", "some" if index.stats()["residual"] else "none")
    assert _hits(index.match(observations, at=at)) == expected


@st.composite
def plain_scenarios(draw: st.DrawFn) -> tuple[list[tuple[Pattern, tuple[int | None, int | None]]], str, str]:
    """A plain observable, and patterns of which many are aimed at it (simple ones most)."""
    kind = draw(st.sampled_from(["ipv4-addr", "domain-name", "x-a", "SHA-256"]))
    value = draw(st.sampled_from(STRINGS))
    object_type, path = ("file", "hashes.'SHA-256'") if kind == "SHA-256" else (kind, "value")
    target = ((object_type, path, value),)
    simple = st.one_of(aimed(target[0]).map(lambda c: f"[{c}]"), st.just(f"[{object_type}:{path} = {_quote(value)}]"))
    chosen = draw(st.lists(st.tuples(st.one_of(simple.map(_compiles), aimed_patterns(target)), windows),
                           min_size=1, max_size=6))
    return [(p, w) for p, w in chosen if p is not None], kind, value


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(plain_scenarios(), st.sampled_from([T0 - SECOND, T0, T0 + SECOND]))
def test_match_value_is_match_on_one_object(scenario: tuple[list[tuple[Pattern, tuple[int | None, int | None]]],
                                                            str, str], at: int) -> None:
    chosen, kind, value = scenario
    index, entries = _build(chosen)
    obj = {"type": "file", "hashes": {kind: value}} if kind == "SHA-256" else {"type": kind, "value": value}
    observations = Observations.single([obj], at)
    expected = brute_force(entries, observations, at)
    event("matches", "some" if expected else "none")
    assert _hits(index.match_value(kind, value, at=at)) == expected
    assert _hits(index.match(observations, at=at)) == expected


# -- anchors ------------------------------------------------------------------------------------------------------

def test_plain_patterns_are_decided_by_the_index() -> None:
    where = plan(parse("[domain-name:value = 'evil.example']"))
    assert where.anchors == (Equal("domain-name", ("value",), ("evil.example",)),) and where.check is not None
    assert plan(parse("[x-a:n IN (1, 2.5)]")).anchors == (Equal("x-a", ("n",), (1, 2.5)),)
    assert plan(parse("[x-a:d.k = h'6162']")).anchors == (Equal("x-a", ("d", "k"), ("ab",)),)  # binary: as latin-1
    assert plan(parse("[x-a:d.k = h'6162']")).check is None  # ... and confirmed by the evaluator


@pytest.mark.parametrize(("text", "anchors", "residual"), [
    ("[ipv4-addr:value ISSUBSET '10.0.0.0/8']", (Block("ipv4-addr", ("value",), (4, 10, 8)),), ()),
    ("[url:value LIKE 'http://%.example.com/%']", (Fragment("url", ("value",), ".example.com/"),), ()),
    # AND: one operand suffices, the cheapest; OR: all of them
    ("[x-a:n > 1 AND x-a:value = 'a']", (Equal("x-a", ("value",), ("a",)),), ()),
    ("[x-a:value LIKE 'abc%'] AND [x-b:value = 'a']", (Equal("x-b", ("value",), ("a",)),), ()),
    ("[x-a:value = 'a'] OR [x-b:value = 'b']",
     (Equal("x-a", ("value",), ("a",)), Equal("x-b", ("value",), ("b",))), ()),
    ("([x-a:value = 'a'] FOLLOWEDBY [x-b:n > 1]) WITHIN 5 SECONDS", (Equal("x-a", ("value",), ("a",)),), ()),
    # no anchor: residual, evaluated whenever an object of one of these types is observed
    ("[x-a:value = 'a'] OR [x-b:n > 1]", (), ("x-a", "x-b")),
    ("[x-a:value != 'a']", (), ("x-a",)),
    ("[x-a:value NOT = 'a']", (), ("x-a",)),
    ("[x-a:ref_ref.value = 'a']", (), ("x-a",)),
    ("[x-a:data_hex = h'6162']", (), ("x-a",)),
    ("[x-a:value = t'2023-11-14T22:13:20Z']", (), ("x-a",)),
    ("[x-a:value MATCHES '(?i)abc']", (), ("x-a",)),
    ("[x-a:value LIKE '%_%']", (), ("x-a",)),
    ("[identity:name = 'a']", (), ("identity",)),
    ("[x-a:n > 1] AND [x-b:n > 1 AND x-b:m > 2]", (), ("x-a",)),
])
def test_plan(text: str, anchors: tuple[Any, ...], residual: tuple[str, ...]) -> None:
    where = plan(parse(text))
    assert (where.anchors, where.residual_types) == (anchors, residual)


@pytest.mark.parametrize(("regex", "fragment"), [
    ("abc", "abc"), ("^ab(cd)e+f", "abcd"), ("a|bcd", ""), ("(?i)abc", ""), ("a(?i:bcd)e", "a"),
    (r"x\.example\.com$", "x.example.com"), ("ab{2}xyz", "xyz"), ("(?:abc)+de", "abc"), ("a{0}bc", "bc"),
    ("[ab]cd", "cd"), ("e\u0301", "é"), ("(", ""),
])
def test_regex_fragment(regex: str, fragment: str) -> None:
    assert regex_fragment(regex) == fragment


def test_like_fragment() -> None:
    assert like_fragment("%.example.com") == ".example.com"
    assert like_fragment("a_bc%d") == "bc"
    assert like_fragment("e\u0301%") == "é"
    assert like_fragment("%_%") == ""


@pytest.mark.parametrize(("text", "parsed"), [
    ("10.0.0.1", (4, 0x0A000001, 32)), ("10.1", (4, 0x0A000001, 32)), ("10.0.0.0/8", (4, 0x0A000000, 8)),
    ("1.2.3.4 trailing", (4, 0x01020304, 32)),  # as socket.inet_aton, hence the reference, reads it
    ("::1", (6, 1, 128)), ("2001:db8::/32", (6, 0x20010DB8 << 96, 32)),
    ("10.0.0.300", None), ("10.0.0.0/0", None), ("10.0.0.0/33", None), ("10.0.0.0/²", None), ("x", None),
])
def test_cidr_parse_value(text: str, parsed: tuple[int, int, int] | None) -> None:
    assert _cidr.parse_value(text) == parsed


def test_cidr_table() -> None:
    table = _cidr.CidrTable()
    for block in ("10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "192.0.2.0/24", "2001:db8::/32"):
        parsed = _cidr.parse_block(block)
        assert parsed is not None
        table.add(parsed, block)
    assert sorted(table.lookup("10.1.2.3")) == ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24"]
    assert sorted(table.lookup("10.1.0.0/16")) == ["10.0.0.0/8", "10.1.0.0/16"]  # a block inside blocks
    assert table.lookup("2001:db8:1::5") == ["2001:db8::/32"]
    assert table.lookup("11.0.0.1") == [] and table.lookup("not an address") == []
    table.discard((4, 10, 8), "10.0.0.0/8")
    assert sorted(table.lookup("10.1.2.3")) == ["10.1.0.0/16", "10.1.2.0/24"]


def test_fragment_table_rebuilds_lazily() -> None:
    table = FragmentTable()
    words = [f"w{i:03d}x" for i in range(PENDING * 3)]
    for i, word in enumerate(words):
        table.add(word, i)
        assert table.lookup(f"..{word}..") == [i]  # found before and after each rebuild
    assert sorted(table.lookup("w000xw001x")) == [0, 1]
    table.discard("w000x", 0)
    assert table.lookup("w000x") == []
    table.add("w000x", 7)
    assert table.lookup("w000x") == [7]


# -- incremental ------------------------------------------------------------------------------------------------

def _one(kind: str, value: str, **objects: Any) -> Observations:
    return Observations.single([{"type": kind, "value": value, **objects}], T0)


def test_add_replace_remove() -> None:
    index = PatternIndex()
    index.add("i1", parse("[domain-name:value = 'evil.example']"), payload="p1")
    index.add("i2", parse("[domain-name:value LIKE '%.example']"))
    assert len(index) == 2 and "i1" in index and "i3" not in index
    assert index.match_value("domain-name", "evil.example", at=T0) == [Hit("i1", "p1", 0), Hit("i2", None, 0)]
    index.add("i1", parse("[domain-name:value = 'other.example']"), payload="p1'")  # replaced, not added
    assert len(index) == 2
    assert [h.key for h in index.match_value("domain-name", "evil.example", at=T0)] == ["i2"]
    assert index.match_value("domain-name", "other.example", at=T0)[0] == Hit("i1", "p1'", 0)
    assert index.remove("i2") and not index.remove("i2")
    assert index.match_value("domain-name", "evil.example", at=T0) == []
    assert index.remove("i1") and len(index) == 0
    assert index.stats() == {"patterns": 0, "paths": 0, "equal_keys": 0, "blocks": 0, "fragments": 0, "residual": 0}


def test_validity_windows_and_expire() -> None:
    index = PatternIndex()
    index.add("old", parse("[ipv4-addr:value = '10.0.0.1']"), valid_from=T0 - 10, valid_until=T0)
    index.add("now", parse("[ipv4-addr:value ISSUBSET '10.0.0.0/8']"), valid_from=T0, valid_until=T0 + 10)
    index.add("later", parse("[ipv4-addr:value = '10.0.0.1']"), valid_from=T0 + 10)
    seen = index.match(_one("ipv4-addr", "10.0.0.1"), at=T0 - 1)
    assert [h.key for h in seen] == ["old"]
    assert [h.key for h in index.match(_one("ipv4-addr", "10.0.0.1"), at=T0)] == ["now"]
    assert [h.key for h in index.match_value("ipv4-addr", "10.0.0.1", at=T0 + 10)] == ["later"]
    assert index.expire(T0 + 5) == ["old"] and "old" not in index
    assert index.expire(T0 + 10) == ["now"] and len(index) == 1
    index.add("later", parse("[ipv4-addr:value = '10.0.0.2']"), valid_until=T0 + 20)
    index.remove("later")
    assert index.expire(T0 + 30) == []  # removed: its old deadline is stale


def test_an_invalid_pattern_is_refused_before_anything_changes() -> None:
    index = PatternIndex()
    index.add("bad", parse("[x-a:value = 'b']"))
    with pytest.raises(InvalidPattern):
        index.add("bad", parse("[x-a:value = 'a' OR x-a:value IN ('a', 1)]"))
    assert len(index) == 1 and index.stats()["equal_keys"] == 1
    assert [h.key for h in index.match_value("x-a", "b", at=T0)] == ["bad"]  # the old pattern stays


@pytest.mark.parametrize(("pattern", "value", "hit"), [
    ("[x-a:n = 1]", 1.0, True), ("[x-a:n = 1]", True, False), ("[x-a:n = true]", 1, False),
    ("[x-a:n = 1.0]", 1, True), ("[x-a:n IN (1, 2)]", True, True), ("[x-a:n IN (true)]", 1.0, True),
    ("[x-a:n = 'a']", ["a"], False), ("[x-a:n IN ('a')]", {"a": 1}, False), ("[x-a:n = 1]", "1", False),
    ("[x-a:n = h'e9']", "é", True), ("[x-a:n = 'é']", "e\u0301", False),
])
def test_the_index_decides_equality_as_the_evaluator(pattern: str, value: Any, hit: bool) -> None:
    index = PatternIndex()
    index.add("k", parse(pattern))
    observations = Observations.single([{"type": "x-a", "n": value}], T0)
    assert bool(match_details(parse(pattern), observations)) is hit
    assert bool(index.match(observations, at=T0)) is hit


@pytest.mark.parametrize("pattern", ["[x-a:value LIKE 'caf\u00e9%']", "[x-a:value LIKE 'cafe\u0301%']",
                                     "[x-a:value MATCHES 'caf\u00e9']", "[x-a:value MATCHES 'cafe\u0301']"])
@pytest.mark.parametrize("value", ["caf\u00e9 noir", "cafe\u0301 noir"])
def test_like_and_matches_see_nfc(pattern: str, value: str) -> None:
    index = PatternIndex()
    index.add("k", parse(pattern))
    assert [h.key for h in index.match_value("x-a", value, at=T0)] == ["k"]
    assert [h.key for h in index.match(_one("x-a", value), at=T0)] == ["k"]


def test_an_unreadable_observation_is_no_match_for_that_pattern_only() -> None:
    index = PatternIndex()
    index.add("subnet", parse("[x-a:value ISSUBSET '10.0.0.0/8' OR x-a:name = 'n']"))
    index.add("plain", parse("[x-a:name = 'n']"))
    observations = _one("x-a", "10.1.2.3.4.5", name="n")  # not an address: the reference raises for 'subnet'
    assert [h.key for h in index.match(observations, at=T0)] == ["plain"]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.data())
def test_updates_are_incremental(data: st.DataObject) -> None:
    observed = data.draw(observation_sets())
    operations = data.draw(st.lists(st.tuples(st.sampled_from(["add", "add", "remove"]), st.integers(0, 5),
                                              aimed_patterns(targets_of(observed[1]))), max_size=20))
    index = PatternIndex()
    entries: dict[str, tuple[Pattern, tuple[int | None, int | None]]] = {}
    for operation, number, pattern in operations:
        key = f"k{number}"
        if operation == "add":
            index.add(key, pattern)
            entries[key] = (pattern, (None, None))
        else:
            assert index.remove(key) == (key in entries)
            entries.pop(key, None)
    assert len(index) == len(entries)
    observations, _ = observed
    assert _hits(index.match(observations, at=T0)) == brute_force(entries, observations, T0)
    for key in list(entries):
        index.remove(key)
    assert index.stats() == {"patterns": 0, "paths": 0, "equal_keys": 0, "blocks": 0, "fragments": 0, "residual": 0}
