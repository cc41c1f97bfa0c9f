"""make_plan on its own: which first/last flags move, store-wide and in the collection."""

from __future__ import annotations

from phalanx.store._plan import Known, make_plan
from tests.conformance.conftest import row

A, B = row("indicator", 1, 0).id, row("indicator", 2, 0).id
ORG, OTHER = "identity--a", "identity--b"


def test_first_and_last_move_store_wide_and_in_the_collection() -> None:
    # Stored before: A v5 and v7 (A v5 also in the collection), B v3 (elsewhere only).
    known = Known(
        digests={
            (A, 5): row("indicator", 1, 5).digest,
            (A, 7): row("indicator", 1, 7).digest,
            (B, 3): row("indicator", 2, 3).digest,
        },
        seqs={(A, 5): 100, (A, 7): 101, (B, 3): 102},
        members={(A, 5): 100},
    )
    batch = [row("indicator", 1, 1), row("indicator", 1, 9), row("indicator", 1, 7), row("indicator", 2, 3)]
    plan = make_plan(batch, known, lambda count: 1000, contributor=ORG)
    assert [r.status.value for r in plan.results] == ["added", "added", "linked", "linked"]
    # Store-wide A was 5..7 and becomes 1..9; B gets no new version.
    assert plan.clear_version_first == [(A, 5)] and plan.clear_version_last == [(A, 7)]
    assert [(v.row.version, v.seq, v.is_first, v.is_last) for v in plan.versions] == [
        (1, 1000, True, False),
        (9, 1001, False, True),
    ]
    # In the collection A was 5..5 and becomes 1..9; B enters it alone.
    assert plan.clear_member_first == [(A, 5)] and plan.clear_member_last == [(A, 5)]
    assert [(m.id, m.version, m.vseq, m.date_added, m.is_first, m.is_last) for m in plan.memberships] == [
        (A, 1, 1000, 1000, True, False),
        (A, 9, 1001, 1001, False, True),
        (A, 7, 101, 1002, False, False),
        (B, 3, 102, 1003, True, True),
    ]


def _never(count: int) -> int:
    raise AssertionError("no date_added is reserved when nothing enters the collection")


def test_nothing_moves_when_nothing_enters() -> None:
    known = Known(digests={(A, 5): row("indicator", 1, 5).digest}, seqs={(A, 5): 100}, members={(A, 5): 100})
    plan = make_plan([row("indicator", 1, 5), row("indicator", 1, 5, x=1)], known, _never, contributor=ORG)
    assert [r.status.value for r in plan.results] == ["duplicate", "conflict"]
    assert (plan.versions, plan.memberships, plan.clear_version_first, plan.clear_member_last) == ([], [], [], [])


def test_all_new_fast_path_decides_like_the_general_walk() -> None:
    """A batch of ids the store does not hold, each once, takes a shortcut: it must agree with the general walk."""
    from phalanx.store._plan import _general

    batch = [row("indicator", 10 + n, 5 + n, revoked=n == 2) for n in range(5)]
    fast = make_plan(batch, Known(), lambda count: 500, contributor=ORG)
    general = _general(batch, Known(), lambda count: 500, ORG, None)
    assert fast == general
    assert [r.status.value for r in fast.results] == ["added"] * 5 and fast.revoked == {batch[2].id: 7}


def test_a_repeated_id_or_a_known_one_takes_the_general_walk() -> None:
    again = make_plan([row("indicator", 1, 1), row("indicator", 1, 2)], Known(), lambda count: 10, contributor=ORG)
    assert [(v.is_first, v.is_last) for v in again.versions] == [(True, False), (False, True)]
    known = Known(digests={(A, 5): row("indicator", 1, 5).digest}, seqs={(A, 5): 3})
    plan = make_plan([row("indicator", 1, 9)], known, lambda count: 10, contributor=ORG)
    assert plan.clear_version_last == [(A, 5)] and plan.versions[0].is_first is False


def test_the_guard_refuses_versions_of_others_objects_and_passing_on_restricted_levels() -> None:
    """An object belongs to the organization that contributed its oldest version: others may not add versions
    (nor revoke it) unless the guard lets them, and may pass a version on only at the levels it allows."""
    from phalanx.store import WriteGuard

    old = row("indicator", 1, 5)
    known = Known(digests={(A, 5): old.digest}, seqs={(A, 5): 100}, contributors={(A, 5): OTHER},
                  top_levels={(A, 5): 2})
    batch = [row("indicator", 1, 9), row("indicator", 1, 5)]
    guarded = make_plan(batch, known, lambda count: 10, contributor=ORG, guard=WriteGuard(pass_on=(0, 1)))
    assert [r.status.value for r in guarded.results] == ["foreign", "restricted"]
    assert (guarded.versions, guarded.memberships) == ([], [])
    # The stored level decides, not the level the writer's row claims.
    claimed = [row("indicator", 1, 5)]
    assert make_plan(claimed, known, _never, contributor=ORG,
                     guard=WriteGuard(pass_on=(0, 1))).results[0].status.value == "restricted"
    opened = make_plan(batch, known, lambda count: 10, contributor=ORG,
                       guard=WriteGuard(may_version_others=True, pass_on=(2,)))
    assert [r.status.value for r in opened.results] == ["added", "linked"]
    assert [m.passed_on for m in opened.memberships] == [False, True]
    # Without a guard the store refuses nothing on these grounds; the owner is never refused.
    assert [r.status.value for r in make_plan(batch, known, lambda count: 10, contributor=ORG).results] == [
        "added", "linked"]
    assert [r.status.value for r in make_plan(batch, known, lambda count: 10, contributor=OTHER,
                                              guard=WriteGuard(pass_on=())).results] == ["added", "linked"]
