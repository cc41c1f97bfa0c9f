"""Range-based set reconciliation, as pure functions: it finds exactly what the responder holds and the
initiator lacks, in few rounds, whatever the sets."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from phalanx.federation._reconcile import SPACE, Answer, Range, VersionSet


def reconcile(mine: VersionSet, theirs: VersionSet) -> tuple[set[tuple[str, int]], int]:
    """What ``theirs`` holds that ``mine`` lacks, and the rounds it took."""
    ask, missing, rounds = [mine.whole()], set(), 0
    while ask:
        rounds += 1
        answers = [theirs.answer(Range.from_record(r.record())) for r in ask]  # through the wire form
        ask = []
        for answer in answers:
            more, lacking = mine.follow_up(answer)
            ask += more
            missing.update(lacking)
    return missing, rounds


versions = st.sets(st.tuples(st.sampled_from([f"indicator--{i}" for i in range(60)]), st.integers(0, 5)),
                   max_size=300)


@settings(max_examples=200, deadline=None)
@given(versions, versions)
def test_it_finds_exactly_what_the_other_side_has_and_this_one_lacks(a: set[tuple[str, int]],
                                                                    b: set[tuple[str, int]]) -> None:
    missing, _ = reconcile(VersionSet(a), VersionSet(b))
    assert missing == b - a


def test_large_sets_with_few_differences_take_few_rounds() -> None:
    rng = random.Random(7)
    common = [(f"indicator--{rng.getrandbits(64):016x}", 1) for _ in range(20_000)]
    theirs_only = [(f"indicator--{rng.getrandbits(64):016x}", 2) for _ in range(40)]
    mine_only = [(f"indicator--{rng.getrandbits(64):016x}", 3) for _ in range(10)]
    missing, rounds = reconcile(VersionSet(common + mine_only), VersionSet(common + theirs_only))
    assert missing == set(theirs_only)
    assert rounds <= 5


def test_equal_sets_agree_in_one_round() -> None:
    same = [(f"indicator--{i}", 1) for i in range(1000)]
    answer = VersionSet(same).answer(VersionSet(same).whole())
    assert answer.same and answer.record() == {"same": True}


def test_a_range_record_out_of_bounds_is_refused() -> None:
    import pytest

    from phalanx.errors import InvalidParameter

    bad_ranges: list[object] = [{"lo": "0", "hi": f"{SPACE + 1:x}", "count": 0, "fp": "0"},
                                {"lo": "5", "hi": "5", "count": 0, "fp": "0"},
                                {"lo": "x", "hi": "5", "count": 0, "fp": "0"},
                                ["lo"], {"lo": "0", "hi": "5", "count": -1, "fp": "0"}]
    for bad in bad_ranges:
        with pytest.raises(InvalidParameter):
            Range.from_record(bad)
    assert isinstance(VersionSet([]).answer(Range(0, SPACE, 1, 1)), Answer)
