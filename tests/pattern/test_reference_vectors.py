"""Our evaluator against every call the OASIS reference matcher's own STIX 2.1 tests make (stix2-matcher 3.0.0).

The vectors come from ``extract_reference_vectors.py`` (see there to regenerate them). For each ``match`` call:
the same answer (matched or not, and the same observed-data in the first binding); an error where the reference
raised one (``InvalidPattern`` from ``parse`` where the reference's parser refused the pattern). The two interval
helpers the reference's tests call directly are checked against our qualifiers (``_bindings``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from phalanx.errors import Error, InvalidPattern
from phalanx.pattern import _bindings
from phalanx.pattern._evaluate import Observations, match_details, matches
from phalanx.pattern._parser import parse

DOCUMENT = json.loads((Path(__file__).parent / "vectors" / "stix2_matcher_v21.json").read_text(encoding="utf-8"))
VECTORS: list[dict[str, Any]] = DOCUMENT["vectors"]
SETS: list[Any] = DOCUMENT["observation_sets"]

# Deliberate differences, all in what the parser accepts: pattern -> (the same pattern as phalanx writes it, why).
# The rewritten pattern has the same tree, so the evaluator is still held to the reference's answer.
_TWICE = ("the parser refuses a second qualifier of one kind on one observation expression (a likely mistake); "
          "parentheses around the first say it is meant")
REWRITTEN = {
    "[person:age < 20] REPEATS 10 TIMES START '2004-10-11T21:40:00Z' STOP '2004-10-11T21:50:00Z'": (
        "[person:age < 20] REPEATS 10 TIMES START t'2004-10-11T21:40:00Z' STOP t'2004-10-11T21:50:00Z'",
        "STIX 2.0 syntax (START/STOP with string literals) from a test that runs the reference in 2.0 mode: "
        "phalanx parses STIX 2.1 patterns only"),
    "[person:age < 20] REPEATS 2 TIMES REPEATS 2 TIMES": (
        "([person:age < 20] REPEATS 2 TIMES) REPEATS 2 TIMES", _TWICE),
    "[person:age < 20] REPEATS 2 TIMES REPEATS 3 TIMES": (
        "([person:age < 20] REPEATS 2 TIMES) REPEATS 3 TIMES", _TWICE),
    "[person:age < 20] REPEATS 5 TIMES REPEATS 2 TIMES": (
        "([person:age < 20] REPEATS 5 TIMES) REPEATS 2 TIMES", _TWICE),
    "[person:age < 20] REPEATS 2 TIMES REPEATS 5 TIMES": (
        "([person:age < 20] REPEATS 2 TIMES) REPEATS 5 TIMES", _TWICE),
}


def _observations(vector: dict[str, Any]) -> Observations:
    given = SETS[vector["observations"]]
    if vector["stix_version"] == "2.1":  # a list of bundles: their objects, together
        return Observations.from_stix([obj for bundle in given for obj in bundle["objects"]])
    return Observations.from_stix(given)  # observed-data with their own objects (STIX 2.0 style)


def _id(vector: dict[str, Any]) -> str:
    return f"{vector['test']}: {vector.get('pattern', vector.get('args'))}"


MATCH = [v for v in VECTORS if v["function"] == "match"]


def test_the_vectors_are_all_there() -> None:
    assert DOCUMENT["count"] == len(VECTORS) == 457
    assert DOCUMENT["license"] == "BSD-3-Clause"
    assert len(MATCH) == 423


@pytest.mark.parametrize("vector", MATCH, ids=[_id(v) for v in MATCH])
def test_match(vector: dict[str, Any]) -> None:
    error = vector.get("error")
    if error == "ParseException":
        with pytest.raises(InvalidPattern):
            parse(vector["pattern"])
        return
    if error is not None:  # the reference refused the pattern, or the data, while matching
        with pytest.raises(Error):
            matches(parse(vector["pattern"]), _observations(vector))
        return
    text = vector["pattern"]
    if text in REWRITTEN:
        with pytest.raises(InvalidPattern):
            parse(text)
        text = REWRITTEN[text][0]
    pattern = parse(text)
    observations = _observations(vector)
    assert matches(pattern, observations) is vector["matched"]
    details = match_details(pattern, observations)
    assert (list(details.observations) if details else []) == vector["bound"]


@pytest.mark.parametrize("vector", [v for v in VECTORS if v["function"] == "_overlap"], ids=_id)
def test_start_stop_against_the_reference_overlap(vector: dict[str, Any]) -> None:
    # START min1 STOP max1 holds for an observation [min2, max2] iff the reference's _overlap(min1, max1, min2,
    # max2) says they overlap or touch at min1 (and START < STOP, else nothing holds).
    start, stop, first, last = vector["args"]
    held = list(_bindings.start_stop(iter([((0, 0),)]), start, stop, [first], [last]))
    assert bool(held) is (start < stop and vector["result"] in (1, 3))


@pytest.mark.parametrize("vector", [v for v in VECTORS if v["function"] == "_timestamp_intervals_within"],
                         ids=_id)
def test_within_against_the_reference(vector: dict[str, Any]) -> None:
    intervals, duration = vector["args"]
    binding = tuple((i, 0) for i in range(len(intervals)))
    first = [interval[0] for interval in intervals]
    last = [interval[1] for interval in intervals]
    held = list(_bindings.within(iter([binding]), duration, first, last))
    assert bool(held) is vector["result"]
