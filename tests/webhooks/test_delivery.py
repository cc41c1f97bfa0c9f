"""Webhook delivery to a real HTTP receiver on 127.0.0.1: signed payloads, the policy and the filters, retries
with growing waits, dead letters, redelivery, and nothing lost or repeated across a restart."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from phalanx.errors import InvalidParameter, NotFound, PermissionDenied
from phalanx.identity import Actor, Role
from phalanx.service import Node
from phalanx.service._webhook_dispatch import backoff
from phalanx.store import Outcome
from phalanx.streams._sse import StreamFilter
from phalanx.streams._webhook import InvalidTarget, check_target
from tests.support import World, make_world
from tests.webhooks.helpers import QUICK, RED, documented_verify, eventually, globex_reader, indicator, share
from tests.webhooks.receiver import Receiver, receiving


def test_a_batch_arrives_signed_and_the_documented_check_verifies_it(world: World, receiver: Receiver) -> None:
    hooks = world.node.webhooks
    share(world, indicator(0))  # before the webhook: not sent (it starts now)
    view, secret = hooks.create(receiver.url, by=Actor(world.globex.id, Role.CONTRIBUTOR))
    assert secret.startswith("whsec_") and view.active and view.org_id == world.globex.id
    share(world, indicator(1), indicator(2, labels=["apt"]))
    assert hooks.run_once() == 1
    (request,) = receiver.wait(1)
    assert request.path == "/hook"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-phalanx-webhook"] == view.id
    payload = request.payload
    assert payload["webhook"] == view.id
    assert request.object_ids() == [indicator(1)["id"], indicator(2)["id"]]
    first = payload["events"][0]
    isac = world.node.reader.collection(world.reader, "isac").collection.id
    assert (first["event"], first["collection"], first["object"]["type"]) == ("object-added", isac, "indicator")
    assert first["date_added"].endswith("Z") and int(first["id"]) < int(payload["events"][1]["id"])
    verify = documented_verify()
    timestamp, signature = request.headers["x-phalanx-timestamp"], request.headers["x-phalanx-signature"]
    assert verify(secret, timestamp, signature, request.body)
    assert not verify(secret, timestamp, signature, request.body + b" ")
    assert not verify("whsec_another", timestamp, signature, request.body)
    assert not verify(secret, str(int(timestamp) - 3600), signature, request.body)  # too old (and not signed)
    (attempt,) = hooks.deliveries(view.id, by=globex_reader(world))
    assert (attempt.outcome, attempt.status, attempt.events, attempt.attempt) == (Outcome.DELIVERED, 204, 2, 1)
    assert attempt.delivery == request.delivery and str(attempt.last) == payload["events"][-1]["id"]
    assert hooks.get(view.id).cursor == attempt.last
    assert hooks.run_once() == 0  # nothing new


def test_the_sharing_policy_decides_what_each_organization_receives(world: World) -> None:
    with receiving("/acme") as acme, receiving("/globex") as globex:
        hooks = world.node.webhooks
        hooks.create(acme.url, org="ACME CERT")
        hooks.create(globex.url, org="Globex")
        share(world, indicator(1, object_marking_refs=[RED]))  # RED, no named recipient: ACME's own only
        share(world, indicator(2))
        assert hooks.run_once() == 2
        assert acme.delivered_ids() == [indicator(1)["id"], indicator(2)["id"]]
        assert globex.delivered_ids() == [indicator(2)["id"]]
        # An organization outside the community gets nothing, not even by naming the collection.
        with pytest.raises(NotFound):
            hooks.create(acme.url, org="Outsider Inc", wanted=StreamFilter(collections=("isac",)))


@pytest.mark.parametrize(("wanted", "expected"), [
    (StreamFilter(types=("malware",)), [5]),
    (StreamFilter(labels=("apt",)), [2]),
    (StreamFilter(min_confidence=60), [3]),
    (StreamFilter(types=("indicator",), labels=("apt", "other")), [2]),
    (StreamFilter(collections=("second",)), [6]),
])
def test_filters(world: World, receiver: Receiver, wanted: StreamFilter, expected: list[int]) -> None:
    world.node.admin.add_collection("second", community="isac")
    view, _ = world.node.webhooks.create(receiver.url, org="Globex", wanted=wanted)
    malware = {"type": "malware", "spec_version": "2.1", "id": "malware--00000005-0cce-4b0c-8b5e-0c1f9a55d6aa",
               "created": "2016-04-06T20:03:48.000Z", "modified": "2016-04-06T20:03:48.000Z", "name": "Ivy",
               "is_family": True}
    share(world, indicator(1), indicator(2, labels=["apt"]), indicator(3, confidence=80),
          indicator(4, confidence=10), malware)
    share(world, indicator(6), collection="second")
    world.node.webhooks.run_once()
    assert receiver.delivered_ids() == [malware["id"] if i == 5 else indicator(i)["id"] for i in expected]
    # What the filters left out is passed over, never sent later.
    assert world.node.webhooks.run_once() == 0
    last = int(receiver.delivered()[-1].payload["events"][-1]["id"])
    assert world.node.webhooks.get(view.id).cursor >= last


def test_failures_are_retried_with_growing_waits_then_dead_lettered_and_the_next_batch_goes_on(
        receiver: Receiver) -> None:
    world = make_world(replace(QUICK, webhook_batch_size=2))
    try:
        hooks = world.node.webhooks
        view, _ = hooks.create(receiver.url, org="Globex")
        receiver.fail(3, 503)
        share(world, indicator(1), indicator(2), indicator(3))
        hooks.start()
        failed_1, failed_2, failed_3, next_batch = receiver.wait(4)
        tries = [failed_1, failed_2, failed_3]
        assert [r.status for r in [*tries, next_batch]] == [503, 503, 503, 204]
        assert len({r.delivery for r in tries}) == 1 and next_batch.delivery != failed_1.delivery  # the same batch
        assert {r.body for r in tries} == {failed_1.body}
        assert failed_1.object_ids() == [indicator(1)["id"], indicator(2)["id"]]
        assert next_batch.object_ids() == [indicator(3)["id"]]
        # The waits grow: at least half of 50 ms, then half of 100 ms (equal jitter).
        assert failed_2.at - failed_1.at >= 0.025 and failed_3.at - failed_2.at >= 0.05
        reader = globex_reader(world)
        log = eventually(lambda: [a for a in hooks.deliveries(view.id, by=reader)
                                  if a.outcome is Outcome.DELIVERED])
        assert [a.outcome for a in hooks.deliveries(view.id, by=reader)] == [
            Outcome.DELIVERED, Outcome.DEAD_LETTERED, Outcome.RETRY, Outcome.RETRY]
        assert [(a.attempt, a.status) for a in hooks.deliveries(view.id, by=reader)[1:]] == [
            (3, 503), (2, 503), (1, 503)]
        assert "HTTP 503" in hooks.deliveries(view.id, by=reader)[1].error and log[0].events == 1
        (letter,) = hooks.dead_letters(view.id, by=reader)
        assert (letter.delivery, letter.attempts, letter.events, letter.body) == (
            failed_1.delivery, 3, 2, failed_1.body)
        # Redelivered on request: the same delivery id and events, signed anew; it leaves the dead letters.
        contributor = Actor(world.globex.id, Role.CONTRIBUTOR)
        attempt = hooks.redeliver(view.id, letter.delivery, by=contributor)
        assert (attempt.outcome, attempt.status, attempt.attempt) == (Outcome.DELIVERED, 204, 4)
        again = receiver.wait(5)[4]
        assert (again.delivery, again.body) == (failed_1.delivery, failed_1.body)
        assert hooks.dead_letters(view.id, by=reader) == []
        with pytest.raises(NotFound):
            hooks.redeliver(view.id, letter.delivery, by=contributor)
    finally:
        world.node.close()


def test_a_failed_redelivery_stays_a_dead_letter(world: World, receiver: Receiver) -> None:
    hooks = world.node.webhooks
    view, _ = hooks.create(receiver.url, org="Globex")
    receiver.fail(4, 500)
    share(world, indicator(1))
    for _ in range(3):
        hooks.run_once()
        time.sleep(0.21)  # past the longest wait
    (letter,) = hooks.dead_letters(view.id)
    attempt = hooks.redeliver(view.id, letter.delivery)
    assert (attempt.outcome, attempt.status) == (Outcome.FAILED, 500)
    (still,) = hooks.dead_letters(view.id)
    assert (still.delivery, still.attempts, still.last_error) == (letter.delivery, 4, attempt.error)


def test_one_retry_then_delivered(world: World, receiver: Receiver) -> None:
    hooks = world.node.webhooks
    view, _ = hooks.create(receiver.url, org="Globex")
    receiver.fail(1, 500)
    share(world, indicator(1))
    assert hooks.run_once() == 1
    pending = hooks.get(view.id).pending
    assert pending is not None and pending.attempts == 1 and "HTTP 500" in pending.last_error
    assert hooks.run_once() == 0  # not due yet
    time.sleep(0.06)
    assert hooks.run_once() == 1
    first, second = receiver.wait(2)
    assert first.delivery == second.delivery and first.body == second.body
    assert hooks.get(view.id).pending is None


def test_a_redirect_is_not_followed_and_a_slow_receiver_times_out(tmp_path: Path) -> None:
    class Slow(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path == "/moved":
                self.send_response(301)
                self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            time.sleep(0.6)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    world = make_world(replace(QUICK, webhook_timeout_seconds=0.2))
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        hooks = world.node.webhooks
        moved, _ = hooks.create(base + "/moved", org="Globex")
        slow, _ = hooks.create(base + "/slow", org="Globex")
        tls, _ = hooks.create(base.replace("http:", "https:") + "/moved", org="Globex")  # no TLS there
        share(world, indicator(1))
        hooks.run_once()
        (refused,) = hooks.deliveries(tls.id)
        assert refused.status is None and "SSL" in refused.error and refused.outcome is Outcome.RETRY
        (redirected,) = hooks.deliveries(moved.id)
        assert redirected.status == 301 and "redirects are not followed" in redirected.error
        (timed_out,) = hooks.deliveries(slow.id)
        assert timed_out.status is None and "no answer within 0.2 s" in timed_out.error
        assert timed_out.outcome is Outcome.RETRY
    finally:
        world.node.close()
        server.shutdown()
        server.server_close()


def test_paused_webhooks_wait_and_resume_where_they_stopped(world: World, receiver: Receiver) -> None:
    hooks = world.node.webhooks
    view, _ = hooks.create(receiver.url, org="Globex")
    assert not hooks.pause(view.id).active
    share(world, indicator(1))
    assert hooks.run_once() == 0
    assert hooks.resume(view.id).active
    hooks.run_once()
    assert receiver.delivered_ids() == [indicator(1)["id"]]


def test_a_webhook_may_start_from_the_beginning(world: World, receiver: Receiver) -> None:
    share(world, indicator(1), indicator(2))
    world.node.webhooks.create(receiver.url, org="Globex", cursor=0)
    world.node.webhooks.run_once()
    assert receiver.delivered_ids() == [indicator(1)["id"], indicator(2)["id"]]


def test_nothing_is_lost_or_repeated_across_a_restart(tmp_path: Path) -> None:
    settings = replace(QUICK, database_url=f"sqlite:///{tmp_path}/node.db", webhook_batch_size=3)
    total = 40
    with receiving() as receiver:
        world = make_world(settings)
        view, _ = world.node.webhooks.create(receiver.url, org="Globex")
        receiver.fail(2, 502)  # the first batch is being retried when the node stops
        for i in range(0, 20, 4):
            share(world, *(indicator(n) for n in range(i, i + 4)))
        world.node.webhooks.start()
        failed = receiver.wait(2)
        world.node.close()  # mid-way: an attempt in flight is settled first
        offline = Node.open(settings)  # stored while nothing delivers (as by the CLI)
        try:
            for i in range(20, total, 4):
                share(replace(world, node=offline), *(indicator(n) for n in range(i, i + 4)))
        finally:
            offline.close()
        reopened = Node.open(settings)
        try:
            reopened.webhooks.start()
            eventually(lambda: len(receiver.delivered_ids()) >= total)
            time.sleep(0.2)  # anything repeated would arrive now
            assert receiver.delivered_ids() == [indicator(n)["id"] for n in range(total)]
            deliveries = [r.delivery for r in receiver.delivered()]
            assert len(deliveries) == len(set(deliveries))
            # The batch that was failing went on after the restart as the same batch: same delivery id and body.
            assert failed[0].delivery == failed[1].delivery == deliveries[0]
            assert failed[0].body == receiver.delivered()[0].body
            log = reopened.webhooks.deliveries(view.id, limit=1000)
            assert [(a.attempt, a.outcome) for a in log if a.delivery == deliveries[0]] == [
                (3, Outcome.DELIVERED), (2, Outcome.RETRY), (1, Outcome.RETRY)]
            assert reopened.webhooks.get(view.id).pending is None
        finally:
            reopened.close()


def test_two_processes_of_a_hub_deliver_each_webhook_once(tmp_path: Path, receiver: Receiver) -> None:
    """Two nodes on one database (as two ``phalanx serve`` of a hub): the lease lets one deliver; when it stops,
    the other takes over at once, from where it stopped."""
    settings = replace(QUICK, database_url=f"sqlite:///{tmp_path}/hub.db", webhook_batch_size=4)
    first = make_world(settings)
    second = Node.open(settings)
    try:
        first.node.webhooks.create(receiver.url, org="Globex")
        first.node.webhooks.start()
        second.webhooks.start()
        for i in range(0, 12, 3):
            share(first, *(indicator(n) for n in range(i, i + 3)))
        eventually(lambda: len(receiver.delivered_ids()) >= 12)
        first.node.close()
        share(replace(first, node=second), *(indicator(n) for n in range(12, 15)))
        eventually(lambda: len(receiver.delivered_ids()) >= 15)
        time.sleep(0.2)  # anything repeated would arrive now
        assert receiver.delivered_ids() == [indicator(n)["id"] for n in range(15)]
    finally:
        first.node.close()
        second.close()


def test_the_log_is_for_the_webhooks_organization_only(world: World, receiver: Receiver) -> None:
    hooks = world.node.webhooks
    view, _ = hooks.create(receiver.url, by=Actor(world.globex.id, Role.ORG_ADMIN))
    share(world, indicator(1))
    hooks.run_once()
    for member in (Role.READER, Role.CONTRIBUTOR, Role.ORG_ADMIN):
        assert len(hooks.deliveries(view.id, by=Actor(world.globex.id, member))) == 1
    assert len(hooks.deliveries(view.id, by=Actor(world.acme.id, Role.ADMIN))) == 1  # a node administrator
    for other in (Actor(world.acme.id, Role.ORG_ADMIN), Actor(world.outsider.id, Role.CONTRIBUTOR),
                  Actor(world.globex.id, Role.PEER)):
        for call in (hooks.deliveries, hooks.dead_letters, hooks.get, hooks.delete, hooks.pause):
            with pytest.raises(NotFound, match="no webhook"):
                call(view.id, by=other)  # type: ignore[operator]
        if other.role is Role.PEER:  # another node's key: webhooks are not its business
            with pytest.raises(PermissionDenied):
                hooks.all(by=other)
        else:
            assert hooks.all(by=other) == []
    with pytest.raises(PermissionDenied):  # a reader sees it, and may not change it
        hooks.delete(view.id, by=Actor(world.globex.id, Role.READER))
    hooks.delete(view.id, by=Actor(world.globex.id, Role.CONTRIBUTOR))
    with pytest.raises(NotFound):
        hooks.get(view.id)


@pytest.mark.parametrize(("url", "why"), [
    ("ftp://example.org/hook", "not http:// or https://"),
    ("file:///etc/passwd", "not http:// or https://"),
    ("example.org/hook", "not http:// or https://"),
    ("https://user:secret@example.org/hook", "credentials"),
    ("https://token@example.org/hook", "credentials"),
    ("http:///hook", "no host"),
    ("http://example.org:99999/hook", "port"),
    ("http://example.org/hook#part", "fragment"),
    ("http://example.org/ho ok", "spaces"),
])
def test_bad_urls_are_refused_with_the_reason(url: str, why: str) -> None:
    with pytest.raises(InvalidTarget, match=why) as info:
        check_target(url)
    assert "http://" in info.value.hint


def test_bad_filters_are_refused_with_the_reason(world: World) -> None:
    hooks = world.node.webhooks
    with pytest.raises(NotFound, match="no collection 'nowhere'"):
        hooks.create("https://example.org/hook", org="Globex", wanted=StreamFilter(collections=("nowhere",)))
    for confidence in (-1, 101, True, "50"):
        with pytest.raises(InvalidParameter, match="min_confidence"):
            hooks.create("https://example.org/hook", org="Globex",
                         wanted=StreamFilter(min_confidence=confidence))  # type: ignore[arg-type]
    with pytest.raises(InvalidParameter, match="not a STIX type"):
        hooks.create("https://example.org/hook", org="Globex", wanted=StreamFilter(types=("Indicator!",)))
    with pytest.raises(InvalidParameter, match="cursor"):
        hooks.create("https://example.org/hook", org="Globex", cursor=-1)
    with pytest.raises(NotFound, match="no organization 'Nobody'"):
        hooks.create("https://example.org/hook", org="Nobody")
    with pytest.raises(NotFound, match="that you act for"):  # another organization: as if it did not exist
        hooks.create("https://example.org/hook", org="ACME CERT", by=Actor(world.globex.id, Role.ORG_ADMIN))
    with pytest.raises(PermissionDenied, match="contributor or above"):
        hooks.create("https://example.org/hook", by=Actor(world.globex.id, Role.READER))
    assert hooks.all() == []


def test_backoff_doubles_up_to_the_cap_with_equal_jitter() -> None:
    low = [backoff(n, base=1, cap=600, rand=lambda: 0.0) for n in range(1, 13)]
    high = [backoff(n, base=1, cap=600, rand=lambda: 1.0) for n in range(1, 13)]
    assert high[:10] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512] and high[10:] == [600, 600]
    assert low == [h / 2 for h in high]
    assert backoff(10_000, base=1, cap=600) <= 600
