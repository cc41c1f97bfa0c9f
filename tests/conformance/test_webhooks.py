"""The webhooks conformance suite: the same expectations on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from phalanx.errors import Conflict, NotFound
from phalanx.store import Attempt, Backend, Batch, Outcome, WebhookRecord
from phalanx.store import _webhooks as memory_webhooks
from phalanx.store._sql import _webhooks as sql_webhooks
from phalanx.store._webhooks import KEEP_DEAD_LETTERS, KEEP_DELIVERIES


def _hook(webhook_id: str = "w1", org: str = "identity--a", created: int = 5, **extra: object) -> WebhookRecord:
    return WebhookRecord(id=webhook_id, org_id=org, url="https://example.org/hook", secret="whsec_s",  # type: ignore[arg-type]
                         created=created, **extra)


def _batch(delivery: str = "d1", through: int = 30, **extra: object) -> Batch:
    values: dict[str, object] = {"events": 2, "first": 20, "last": through, "body": b'{"events": []}',
                                 "created": 100}
    values.update(extra)
    return Batch(delivery=delivery, through=through, **values)  # type: ignore[arg-type]


def _attempt(delivery: str = "d1", outcome: Outcome = Outcome.DELIVERED, attempt: int = 1, at: int = 200,
             status: int | None = 204, error: str = "") -> Attempt:
    return Attempt(at, delivery, attempt, 2, 20, 30, status, error, 1500, outcome)


def test_add_get_list_remove(backend: Backend) -> None:
    hooks = backend.webhooks
    full = _hook("w2", created=3, collections=("c1",), types=("indicator",), labels=("apt",), min_confidence=50)
    hooks.add(_hook("w1"), cursor=7)
    hooks.add(full, cursor=0)
    hooks.add(_hook("w3", org="identity--b", created=9), cursor=0)
    with pytest.raises(Conflict):
        hooks.add(_hook("w1"), cursor=0)
    assert hooks.get("w2") == full
    assert [h.id for h in hooks.all()] == ["w2", "w1", "w3"]  # oldest first
    assert [h.id for h in hooks.all("identity--a")] == ["w2", "w1"]
    assert hooks.all("identity--nobody") == []
    state = hooks.state("w1")
    assert (state.active, state.cursor, state.pending) == (True, 7, None)
    hooks.stage("w1", _batch(), after=7)
    hooks.settle("w1", _attempt(outcome=Outcome.DEAD_LETTERED))
    hooks.remove("w1")
    for call in (lambda: hooks.get("w1"), lambda: hooks.state("w1"), lambda: hooks.remove("w1"),
                 lambda: hooks.deliveries("w1"), lambda: hooks.dead_letters("w1"),
                 lambda: hooks.claim("w1", "r", now=1, ttl=1)):
        with pytest.raises(NotFound):
            call()
    hooks.add(_hook("w1"), cursor=0)  # the id is free again, with nothing left of the old one
    assert hooks.deliveries("w1") == [] and hooks.dead_letters("w1") == []


def test_pause_and_resume(backend: Backend) -> None:
    hooks = backend.webhooks
    hooks.add(_hook(), cursor=0)
    hooks.set_active("w1", False)
    assert not hooks.state("w1").active
    hooks.set_active("w1", True)
    assert hooks.state("w1").active


def test_a_delivered_batch_moves_the_cursor(backend: Backend) -> None:
    hooks = backend.webhooks
    hooks.add(_hook(), cursor=10)
    assert not hooks.stage("w1", _batch(), after=9)  # not where the cursor is: someone else moved it
    assert hooks.stage("w1", _batch(), after=10)
    assert not hooks.stage("w1", _batch("d2", 40), after=10)  # one pending batch at a time
    assert not hooks.skip("w1", after=10, through=50)  # nor a skip past it
    assert hooks.state("w1").pending == _batch()
    assert hooks.settle("w1", _attempt())
    state = hooks.state("w1")
    assert (state.cursor, state.pending) == (30, None)
    assert not hooks.settle("w1", _attempt())  # settled already: logged, nothing else
    assert [a.delivery for a in hooks.deliveries("w1")] == ["d1", "d1"]
    assert hooks.skip("w1", after=30, through=45)
    assert not hooks.skip("w1", after=30, through=60)
    assert hooks.state("w1").cursor == 45


def test_retries_then_a_dead_letter_and_the_cursor_moves_past_it(backend: Backend) -> None:
    hooks = backend.webhooks
    hooks.add(_hook(), cursor=10)
    hooks.stage("w1", _batch(), after=10)
    hooks.settle("w1", _attempt(outcome=Outcome.RETRY, status=500, error="HTTP 500"), retry_at=300)
    hooks.settle("w1", _attempt(outcome=Outcome.RETRY, attempt=2, at=300, status=None, error="timed out"),
                 retry_at=500)
    pending = hooks.state("w1").pending
    assert pending is not None
    assert (pending.attempts, pending.next_attempt, pending.updated, pending.last_error) == (2, 500, 300, "timed out")
    assert hooks.state("w1").cursor == 10  # not delivered yet
    hooks.settle("w1", _attempt(outcome=Outcome.DEAD_LETTERED, attempt=3, at=500, status=404, error="HTTP 404"))
    state = hooks.state("w1")
    assert (state.cursor, state.pending) == (30, None)
    (letter,) = hooks.dead_letters("w1")
    assert (letter.delivery, letter.attempts, letter.updated, letter.last_error, letter.body) == (
        "d1", 3, 500, "HTTP 404", b'{"events": []}')
    assert hooks.dead_letter("w1", "d1") == letter
    with pytest.raises(NotFound):
        hooks.dead_letter("w1", "d9")
    log = hooks.deliveries("w1")
    assert [(a.attempt, a.status, a.outcome) for a in log] == [
        (3, 404, Outcome.DEAD_LETTERED), (2, None, Outcome.RETRY), (1, 500, Outcome.RETRY)]
    assert log[0] == _attempt(outcome=Outcome.DEAD_LETTERED, attempt=3, at=500, status=404, error="HTTP 404")
    assert hooks.deliveries("w1", limit=1) == log[:1]
    # the next batch goes on from there
    assert hooks.stage("w1", _batch("d2", 50, first=40), after=30)


def test_a_dead_letter_redelivered(backend: Backend) -> None:
    hooks = backend.webhooks
    hooks.add(_hook(), cursor=10)
    for delivery, through in (("d1", 30), ("d2", 40)):
        hooks.stage("w1", _batch(delivery, through), after=hooks.state("w1").cursor)
        hooks.settle("w1", _attempt(delivery, Outcome.DEAD_LETTERED))
    assert [d.delivery for d in hooks.dead_letters("w1")] == ["d2", "d1"]  # newest first
    assert hooks.settle("w1", _attempt("d1", Outcome.FAILED, attempt=2, at=900, status=503, error="HTTP 503"))
    assert [d.delivery for d in hooks.dead_letters("w1")] == ["d2", "d1"]  # still in its place
    assert (hooks.dead_letter("w1", "d1").attempts, hooks.dead_letter("w1", "d1").updated) == (2, 900)
    assert hooks.settle("w1", _attempt("d1", Outcome.DELIVERED, attempt=3))
    assert [d.delivery for d in hooks.dead_letters("w1")] == ["d2"]
    assert hooks.state("w1").cursor == 40  # a redelivery never moves the cursor


def test_the_log_and_the_dead_letters_are_bounded(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    keep = 5
    for module in (memory_webhooks, sql_webhooks):  # the same bounds, smaller, to keep the test quick
        monkeypatch.setattr(module, "KEEP_DEAD_LETTERS", keep)
        monkeypatch.setattr(module, "KEEP_DELIVERIES", keep + 1)
    hooks = backend.webhooks
    hooks.add(_hook(), cursor=0)
    for i in range(keep + 2):
        hooks.stage("w1", _batch(f"d{i}", i + 1), after=i)
        hooks.settle("w1", _attempt(f"d{i}", Outcome.DEAD_LETTERED))
    letters = hooks.dead_letters("w1", limit=keep + 10)
    assert [d.delivery for d in letters] == [f"d{i}" for i in range(keep + 1, 1, -1)]
    log = hooks.deliveries("w1", limit=keep + 10)
    assert [a.delivery for a in log] == [f"d{i}" for i in range(keep + 1, 0, -1)]
    assert KEEP_DEAD_LETTERS == KEEP_DELIVERIES == 1000  # the real bounds


def test_one_runner_holds_the_lease_until_it_lapses(backend: Backend) -> None:
    hooks = backend.webhooks
    hooks.add(_hook(), cursor=0)
    assert hooks.claim("w1", "p1", now=100, ttl=10)
    assert not hooks.claim("w1", "p2", now=105, ttl=10)
    assert hooks.claim("w1", "p1", now=108, ttl=10)
    assert not hooks.claim("w1", "p2", now=117, ttl=10)
    assert hooks.claim("w1", "p2", now=118, ttl=10)
    assert not hooks.claim("w1", "p1", now=119, ttl=10)
