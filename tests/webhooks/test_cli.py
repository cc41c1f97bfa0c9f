"""`phalanx webhook` end to end on a SQLite node, delivering to a real receiver."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from phalanx.config import Settings
from phalanx.service import Node
from tests.cli.test_cli import run
from tests.support import bundle
from tests.webhooks.helpers import documented_verify, indicator
from tests.webhooks.receiver import Receiver


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "node"
    run(home, "init")
    (home / "phalanx.toml").write_text("webhook_backoff_seconds = 0.01\nwebhook_max_attempts = 2\n", encoding="utf-8")
    run(home, "community", "add", "isac")
    run(home, "org", "add", "ACME CERT")
    run(home, "community", "join", "isac", "ACME CERT")
    return home


def deliver(home: Path) -> int:
    """What ``phalanx serve`` does in the background: one delivery step for every webhook."""
    with Node.open(Settings.load(home)) as node:
        return node.webhooks.run_once()


def test_add_list_deliver_log_dead_letters_redeliver_remove(home: Path, tmp_path: Path, receiver: Receiver) -> None:
    added = run(home, "webhook", "add", receiver.url, "--org", "ACME CERT", "--type", "indicator",
                "--min-confidence", "10", "--from-event", "0")
    secret = added.stdout.strip()
    assert secret.startswith("whsec_") and "shown once" in added.stderr
    (listed,) = json.loads(run(home, "webhook", "list", "--json").stdout)
    webhook_id = listed["id"]
    assert (listed["url"], listed["types"], listed["min_confidence"], listed["active"]) == (
        receiver.url, ["indicator"], 10, True)
    assert secret not in run(home, "webhook", "list").stdout and webhook_id in run(home, "webhook", "list").stdout
    source = tmp_path / "objects.json"
    source.write_bytes(bundle(indicator(1, confidence=50), indicator(2)))  # the second has no confidence
    run(home, "import", "--org", "ACME CERT", str(source))
    receiver.fail(2, 500)
    assert deliver(home) == 1
    assert "retrying" in run(home, "webhook", "list").stdout
    time.sleep(0.02)
    assert deliver(home) == 1  # the second failure: a dead letter
    log = run(home, "webhook", "deliveries", webhook_id).stdout.splitlines()
    assert len(log) == 2 and "dead-lettered" in log[0] and "500" in log[0] and "retry" in log[1]
    (letter,) = run(home, "webhook", "dead-letters", webhook_id).stdout.splitlines()
    delivery = letter.split()[0]
    assert "1 events" in letter and "2 attempts" in letter
    redelivered = run(home, "webhook", "redeliver", webhook_id, delivery)
    assert "delivered" in redelivered.stdout
    arrived = receiver.wait(3)[2]
    assert arrived.delivery == delivery and arrived.object_ids() == [indicator(1)["id"]]
    assert documented_verify()(secret, arrived.headers["x-phalanx-timestamp"],
                               arrived.headers["x-phalanx-signature"], arrived.body)
    assert run(home, "webhook", "dead-letters", webhook_id).stdout == ""
    assert "paused" in run(home, "webhook", "pause", webhook_id).stdout
    assert "active" in run(home, "webhook", "resume", webhook_id).stdout
    run(home, "webhook", "remove", webhook_id)
    assert run(home, "webhook", "list").stdout == ""
    gone = run(home, "webhook", "remove", webhook_id, ok=False)
    assert gone.exit_code == 1 and f"no webhook {webhook_id}" in gone.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["ftp://example.org/x"], "is not http:// or https://"),
    (["https://me:pw@example.org/x"], "credentials"),
    (["https://example.org/x", "--collection", "nowhere"], "no collection 'nowhere'"),
    (["https://example.org/x", "--min-confidence", "101"], "min_confidence 101 must be a whole number from 0 to 100"),
])
def test_bad_input_is_refused_with_what_to_do(home: Path, args: list[str], message: str) -> None:
    result = run(home, "webhook", "add", *args, "--org", "ACME CERT", ok=False)
    assert result.exit_code == 1
    assert message in result.stderr and "what to do:" in result.stderr
