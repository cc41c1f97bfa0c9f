"""Parsing JSON lines in worker processes gives exactly what parsing them inline gives."""

from __future__ import annotations

import json
import pickle

import pytest

from phalanx.errors import (
    AuthenticationError,
    Conflict,
    Error,
    InputTooLarge,
    InvalidJSON,
    InvalidSTIX,
    UnreadableInput,
    Violation,
)
from phalanx.stix import Limits, Mode, Refused, StixObject, iter_jsonl, parse_jsonl_parallel
from phalanx.stix._parallel import _CHUNK_LINES
from tests.support import INDICATOR


def lines(count: int) -> list[bytes]:
    out = []
    for i in range(count):
        if i % 997 == 5:
            out.append(b"{not json\n")
        elif i % 1009 == 7:
            out.append(b"\n")  # blank lines count as lines, not as objects
        elif i % 1013 == 9:
            out.append(json.dumps(dict(INDICATOR, confidence=500)).encode() + b"\n")
        else:
            obj = dict(INDICATOR, id=f"indicator--{i:08x}-0cce-4b0c-8b5e-0c1f9a55d6aa")
            out.append(json.dumps(obj).encode() + b"\n")
    return out


def summary(item: StixObject | Refused) -> tuple[object, ...]:
    if isinstance(item, Refused):
        return ("refused", item.index, item.line, item.object_id, type(item.error), item.error.message)
    return ("object", item.id, item.digest, item.warnings)


@pytest.mark.parametrize("mode", list(Mode))
def test_same_results_as_inline_parsing_across_chunks(mode: Mode) -> None:
    data = lines(2 * _CHUNK_LINES + 321)
    inline = [summary(p) for p in iter_jsonl(data, mode=mode)]
    parallel = [summary(p) for p in parse_jsonl_parallel(data, mode=mode, limits=Limits(), workers=2)]
    assert parallel == inline
    assert sum(1 for s in inline if s[0] == "refused") >= 6


def test_empty_input() -> None:
    assert list(parse_jsonl_parallel([], workers=1)) == []


@pytest.mark.parametrize("error", [
    InvalidJSON("not valid JSON: x"),
    InputTooLarge("too big", hint="split it"),
    InvalidSTIX([Violation("indicator--x", "pattern", "pattern-syntax", "bad")]),
    Conflict("exists"),
    AuthenticationError("no"),
    UnreadableInput("cannot read"),
])
def test_errors_survive_a_trip_between_processes(error: Error) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert (copy.message, copy.hint, copy.args) == (error.message, error.hint, error.args)
    if isinstance(error, InvalidSTIX):
        assert isinstance(copy, InvalidSTIX) and copy.violations == error.violations
