"""LIKE without backtracking means exactly what the reference's regular expression means."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from phalanx.pattern._compare import _like_regex

ALPHABET = st.sampled_from(["a", "b", "%", "_", "\n", ".", "é"])


def reference(pattern: str, value: str) -> bool:
    """stix2-matcher's reading: % is .*, _ is ., the rest literal, anchored with ^ and $ (re.match)."""
    regex = "^" + "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern) + "$"
    return re.match(regex, value) is not None


@settings(max_examples=3000, deadline=None)
@given(st.lists(ALPHABET, max_size=8).map("".join), st.lists(ALPHABET.filter(lambda c: c not in "%_"),
                                                             max_size=10).map("".join))
def test_like_is_the_references_regular_expression(pattern: str, value: str) -> None:
    like, _ = _like_regex(pattern)
    assert like(value) == reference(pattern, value), (pattern, value)


def test_many_wildcards_cost_no_backtracking() -> None:
    like, _ = _like_regex("%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%b")
    assert like("a" * 5000) is False  # the regular expression takes longer than anyone would wait
