"""The child process of tests/ledger/test_crash.py: a node appending to its log until it is killed (SIGKILL).

Run as ``python _crash_child.py JSON`` where JSON holds ``url``, ``origin``, ``org``, ``collection``, ``keyfile``
(an organization's key file, published already), ``seed`` and ``mode``:

* ``run``: publish a new signing key of ``org``, then ingest batches of 1-50 indicators (some signed, some new
  versions of indicators acknowledged before) forever; after each batch the store acknowledged, ``sync`` the
  log, sometimes sign a checkpoint, and print one JSON line: ``{"acked": [[id, version], ...], "size": n,
  "cp": [size, root hex] | null}``;
* ``once``: ingest ``count`` indicators, sync, sign a checkpoint, print that line, then wait to be killed.

Every line is written whole and flushed; a line without its newline was cut by the kill and means nothing. The
first line is ``{"ready": true, "key": key id | null}``; anything unexpected is printed as ``{"error": ...}``
and the process exits with status 3.
"""

from __future__ import annotations

import json
import random
import sys
import time
import uuid
from typing import Any

from phalanx.config import Settings
from phalanx.identity import Actor, Role
from phalanx.ledger import PrivateKey, generate_key, sign_object
from phalanx.service import Node
from phalanx.stix import format_micros, now_micros


def _say(line: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def _indicator(oid: str, created: int, modified: int, n: int) -> dict[str, Any]:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": oid,
        "created": format_micros(created),
        "modified": format_micros(modified),
        "indicator_types": ["malicious-activity"],
        "name": f"crash test indicator {n}",
        "pattern": f"[ipv4-addr:value = '10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}']",
        "pattern_type": "stix",
        "valid_from": "2024-01-01T00:00:00Z",
    }


def main() -> int:
    args = json.loads(sys.argv[1])
    rng = random.Random(args["seed"])
    # Private addresses are on the warning lists: reading them would delay the first acknowledgment, and their
    # warnings change the details checked below. This child is about the log.
    node = Node.open(Settings(database_url=args["url"], ledger_origin=args["origin"], warninglists="off"))
    actor = Actor(args["org"], Role.CONTRIBUTOR)
    keys = [PrivateKey.from_file(open(args["keyfile"], "rb").read())]  # noqa: SIM115 - a short-lived child
    new_key = None
    if args["mode"] == "run":  # a key entry in the log too, appended while objects are being logged
        fresh = generate_key(args["org"], now=now_micros() - 60_000_000)
        node.provenance.publish(None, fresh.public)
        keys.append(fresh)
        new_key = fresh.key_id
    _say({"ready": True, "key": new_key})

    history: dict[str, tuple[int, int, bool]] = {}  # id -> (created, latest modified, signed)
    counter = rng.randrange(1 << 24)
    base = now_micros() - 3_600_000_000
    while True:
        count = args["count"] if args["mode"] == "once" else rng.randint(1, 50)
        objects: list[dict[str, Any]] = []
        earlier = rng.sample(list(history), min(len(history), count // 6))  # to give a new version each
        for _ in range(count):
            counter += 1
            if earlier and rng.random() < 0.15:  # a new version of an indicator acknowledged before
                oid = earlier.pop()
                created, modified, signed = history[oid]
                modified += 1_000_000
            else:
                oid = f"indicator--{uuid.UUID(int=rng.getrandbits(128), version=4)}"
                created = modified = base + counter
                signed = rng.random() < 0.3
            obj = _indicator(oid, created, modified, counter)
            objects.append(sign_object(obj, rng.choice(keys)) if signed else obj)
            history[oid] = (created, modified, signed)
        document = json.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects})
        results = node.ingest.document(actor, args["collection"], document.encode())
        refused = [(r.id, r.outcome, r.detail) for r in results if r.outcome != "accepted" or r.detail != "added"]
        if refused or len(results) != len(objects):
            _say({"error": f"ingest did not add every object: {refused}"})
            return 3
        node.ledger.sync()
        line: dict[str, Any] = {"acked": [[r.id, r.version] for r in results], "size": node.ledger.size(),
                                "cp": None}
        if args["mode"] == "once" or rng.random() < 0.4:
            stored = node.ledger.checkpoint()
            parsed = node.ledger.parse(stored.note)
            line["cp"] = [parsed.size, parsed.root.hex()]
        _say(line)
        if args["mode"] == "once":
            while True:  # wait for the kill, the node left open
                time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
