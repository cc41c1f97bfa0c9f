"""Offline proof bundles: any single-bit change anywhere in a bundle is refused."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phalanx.config import Settings
from phalanx.errors import Error
from phalanx.ledger import generate_key, sign_object
from phalanx.ledger._bundle import Trust, verify_bundle
from phalanx.ledger._note import format_add_checkpoint
from phalanx.ledger._witness import Witness
from phalanx.stix import Tlp, now_micros
from tests.support import INDICATOR, bundle, make_world


@pytest.fixture(scope="module")
def proved(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[bytes, Trust]]:
    """A signed object's bundle, its checkpoint cosigned by one witness, and the trust that needs that witness."""
    folder: Path = tmp_path_factory.mktemp("bundle")
    world = make_world(Settings(database_url=f"sqlite:///{folder}/log.db"))
    witness = make_world(Settings(database_url=f"sqlite:///{folder}/witness.db"))
    try:
        node = world.node
        key = generate_key(world.acme.id, now=now_micros())
        node.provenance.publish(None, key.public)
        objects = [sign_object({**INDICATOR, "id": f"indicator--{uuid.uuid4()}", "created_by_ref": world.acme.id,
                                "object_marking_refs": [Tlp.GREEN.value]}, key) for _ in range(5)]
        node.ingest.document(world.contributor, "isac", bundle(*objects))
        checkpoint = node.sequencer.run_once()
        assert checkpoint is not None
        judge = Witness(witness.node.backend.ledger, witness.node.ledger.cosigner)
        judge.watch(node.ledger.origin, node.ledger.verifier_keys)
        line = judge.add_checkpoint(format_add_checkpoint(0, [], checkpoint.note))
        node.backend.ledger.add_cosignature(checkpoint.size, "w", line)
        proof = node.provenance.bundle(world.reader, node.reader, "isac", objects[2]["id"])
        trust = Trust(node.ledger.origin, tuple(node.ledger.verifier_keys), (witness.node.ledger.witness_key,), 1)
        verify_bundle(proof, trust)
        yield orjson.dumps(proof), trust
    finally:
        world.node.close()
        witness.node.close()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_single_bit_flip_is_refused(proved: tuple[bytes, Trust], data: st.DataObject) -> None:
    text, trust = proved
    changed = bytearray(text)
    position = data.draw(st.integers(0, len(text) - 1), label="byte")
    changed[position] ^= 1 << data.draw(st.integers(0, 7), label="bit")
    try:
        value: Any = orjson.loads(bytes(changed))
    except orjson.JSONDecodeError:
        return  # no longer JSON: there is nothing to accept
    with pytest.raises(Error):
        verify_bundle(value, trust)


def test_every_part_is_checked(proved: tuple[bytes, Trust]) -> None:
    text, trust = proved
    good = orjson.loads(text)
    cases = {
        "object": lambda b: b["object"].update(name="other"),
        "entry": lambda b: b["entry"].update(accepted="2020-01-01T00:00:00.000000Z"),
        "index": lambda b: b.update(index=b["index"] + 1),
        "proof": lambda b: b["proof"].reverse(),
        "key entry": lambda b: b["key"]["entry"].update(not_after="2020-01-01T00:00:00.000000Z"),
        "checkpoint": lambda b: b.update(checkpoint=b["checkpoint"].replace("\n\n", "\nextension\n\n", 1)),
        "cosignature": lambda b: b.update(checkpoint=b["checkpoint"].rsplit("—", 1)[0]),
    }
    for name, change in cases.items():
        bad = orjson.loads(text)
        change(bad)
        with pytest.raises(Error):
            verify_bundle(bad, trust)
            pytest.fail(f"a changed {name} was accepted")
    assert verify_bundle(good, trust).witnesses
