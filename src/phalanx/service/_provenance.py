"""Provenance at ingest, and organizations' signing keys.

At ingest every signed object is verified before it reaches the store: the block must be readable, name a key
this node published, verify (both signatures for a hybrid key), be made while the key is valid and before it
was reported compromised, and, when the object names its creator (``created_by_ref``), be that
organization's key. An unsigned object is signed by the hub when the sharing organization opted into a
custodial key; otherwise it is accepted, or refused when the node requires signatures.

Keys are published by node administrators, or by org-admins for their own organization, and logged.
"""

from __future__ import annotations

__all__ = ["Provenance"]

import re
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import orjson

from ..config import Settings
from ..errors import Error, InvalidSignature, KeyNotValid, NotFound, PermissionDenied, UnknownKey
from ..identity import Actor, Directory
from ..ledger import (
    Ledger,
    PrivateKey,
    PublicKey,
    carries_signature,
    generate_key,
    read_signature,
    sign_object,
)
from ..ledger._bundle import Verified, make_bundle, verify_bundle
from ..policy import is_anonymous, may_administer, may_learn_contributor, require
from ..stix import Limits, Mode, StixObject, digest, parse_micros
from ..store import Query, VersionFilter
from ._read import Reader

_KEY_ID = re.compile(r"phx1-[0-9a-f]{32}")
_CACHE_SECONDS = 5.0
"""How long a key read from the database is trusted before it is read again: a compromise reported through
another process of the hub takes effect within this time."""


class Provenance:
    def __init__(self, ledger: Ledger, directory: Directory, settings: Settings, clock: Callable[[], int]) -> None:
        self._ledger = ledger
        self._directory = directory
        self._settings = settings
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, PublicKey | None, PrivateKey | None]] = {}
        self._custodial: dict[str, tuple[float, PrivateKey | None]] = {}
        self._limits = Limits(max_bytes=settings.max_document_bytes, max_depth=settings.max_depth)

    # -- keys ------------------------------------------------------------------------------------------------

    def _read(self, key_id: str) -> tuple[PublicKey | None, PrivateKey | None]:
        if not _KEY_ID.fullmatch(key_id):
            return None, None
        with self._lock:
            hit = self._cache.get(key_id)
            if hit is not None and time.monotonic() - hit[0] < _CACHE_SECONDS:
                return hit[1], hit[2]
        try:
            record, private = self._ledger.storage.key(key_id)
        except NotFound:
            return None, None  # not cached: ids nobody published cannot fill the cache
        public = PublicKey.from_record(orjson.loads(record))
        secret = None if private is None else PrivateKey.from_file(private)
        with self._lock:
            self._cache[key_id] = (time.monotonic(), public, secret)
        return public, secret

    def key(self, key_id: str) -> PublicKey:
        public, _ = self._read(key_id)
        if public is None:
            raise UnknownKey(f"no signing key {key_id} is published on this node")
        return public

    def keys(self, org: str | None = None) -> list[PublicKey]:
        """The published keys (of one organization), oldest first."""
        return [PublicKey.from_record(orjson.loads(record)) for _, record in self._ledger.storage.keys(org)]

    def publish(self, actor: Actor | None, key: PublicKey) -> int:
        """Publish (and log) an organization's public key; return its log entry's index. ``actor`` None is the
        node's operator (CLI). A key is published once: its times change only through ``retire`` and
        ``compromised``, which can only narrow them."""
        if self._directory.get_organization(key.org).id != key.org:
            raise KeyNotValid("a key names its organization by its STIX identity id, not by its name")
        if actor is not None:
            require(may_administer(actor, org_id=key.org))
        self._forget(key.key_id)
        existing, _ = self._read(key.key_id)
        if existing is not None:
            if existing.org != key.org:
                raise KeyNotValid(f"key {key.key_id} is published for another organization")
            if existing != key:
                raise KeyNotValid(f"key {key.key_id} is published already, with other times",
                                  hint="Change its times with 'signing-key retire' or 'signing-key compromised'.")
            return max(i for i, e, _ in self._ledger.find(key.key_id) if e.get("kind") == "key")
        index = self._ledger.publish_key(key)
        self._forget(key.key_id)
        return index

    def custodial(self, actor: Actor | None, org: str, *, hybrid: bool = False) -> PublicKey:
        """Make a key the hub holds for ``org`` and signs its unsigned contributions with (the org opts in)."""
        org_id = self._directory.get_organization(org).id
        if actor is not None:
            require(may_administer(actor, org_id=org_id))
        for old in self._custodial_keys(org_id):  # one custodial key at a time: the new one replaces the old
            self.retire(actor, old.key_id)
        key = generate_key(org_id, now=self._clock(), hybrid=hybrid)
        self._ledger.publish_key(key.public, private=key.to_file())
        with self._lock:
            self._custodial.pop(org_id, None)
        return key.public

    def _custodial_keys(self, org_id: str) -> list[PublicKey]:
        found = []
        for key in self.keys(org_id):
            if key.not_after is None and key.compromised_after is None and self._read(key.key_id)[1] is not None:
                found.append(key)
        return found

    def _custodial_for(self, org_id: str) -> PrivateKey | None:
        with self._lock:
            hit = self._custodial.get(org_id)
            if hit is not None and time.monotonic() - hit[0] < _CACHE_SECONDS:
                return hit[1]
        keys = self._custodial_keys(org_id)
        private = self._read(keys[-1].key_id)[1] if keys else None
        with self._lock:
            self._custodial[org_id] = (time.monotonic(), private)
        return private

    def retire(self, actor: Actor | None, key_id: str, *, at: int | None = None) -> PublicKey:
        """End a key's validity at ``at`` (now): it signs nothing new; what it signed before still verifies."""
        return self._change(actor, key_id, not_after=self._clock() if at is None else at)

    def compromised(self, actor: Actor | None, key_id: str, *, at: int) -> PublicKey:
        """Report a key compromised from ``at``: signatures logged from then on are refused, older ones stand."""
        return self._change(actor, key_id, compromised_after=at)

    def _change(self, actor: Actor | None, key_id: str, *, not_after: int | None = None,
                compromised_after: int | None = None) -> PublicKey:
        self._forget(key_id)
        key = self.key(key_id)
        if actor is not None:
            require(may_administer(actor, org_id=key.org))
        # Times only narrow: the earlier of the old and the new one stands.
        changed = replace(key, not_after=_earliest(key.not_after, not_after),
                          compromised_after=_earliest(key.compromised_after, compromised_after))
        self._ledger.publish_key(changed)
        self._forget(key_id)
        return changed

    def _forget(self, key_id: str) -> None:
        with self._lock:
            self._cache.pop(key_id, None)
            self._custodial.clear()

    # -- proofs ---------------------------------------------------------------------------------------------

    def bundle(self, actor: Actor, reader: Reader, collection: str, object_id: str, *,
               version: int | None = None) -> dict[str, Any]:
        """The offline proof bundle of one version ``actor`` may read in ``collection`` (the latest by default):
        the object, its log entry and inclusion proof, its signing key's entry and proof, and the latest
        checkpoint with its witnesses' cosignatures."""
        query = Query(collection=collection, ids=(object_id,),
                      versions=(VersionFilter.LAST,) if version is None else (version,), limit=1)
        items = reader.page(actor, query).items
        if not items:
            raise NotFound(f"no object {object_id} (of that version) in collection {collection!r}")
        item = items[0]
        # The log entry names the contributor: of an anonymous sighting, only to itself and the operators.
        require(may_learn_contributor(actor, contributor=item.contributor, anonymous=is_anonymous(item)))
        logged = self._logged(object_id, item.version)
        if not logged:  # stored in the last second: the sequencer has not logged it yet
            self._ledger.sync()
            logged = self._logged(object_id, item.version)
        if not logged:
            raise NotFound(f"{object_id} is not in the log", hint="Try again in a second: the log follows the store.")
        index, entry = logged[-1]
        if entry["digest"] != "sha256:" + digest(item.canonical):
            raise PermissionDenied(
                f"the copy of {object_id} you receive has parts removed (granular markings beyond your reach); "
                "a proof covers only the whole object", hint="Ask its contributor for the proof bundle.")
        checkpoint = self._ledger.latest()
        if checkpoint is None or checkpoint.size <= index:
            checkpoint = self._ledger.checkpoint()
        proof = self._ledger.prove(index, checkpoint.size)
        key = None
        signature = entry.get("signature")
        if isinstance(signature, dict):
            keyed = [(i, e) for i, e, _ in self._ledger.find(str(signature.get("key")))
                     if e.get("kind") == "key" and i < checkpoint.size]
            if keyed:
                key_index, key_entry = keyed[-1]
                key = (key_entry, key_index, self._ledger.prove(key_index, checkpoint.size).path)
        return make_bundle(orjson.loads(item.canonical), entry, index, proof.path,
                           self._ledger.cosigned(checkpoint), key)

    def verified(self, actor: Actor, reader: Reader, collection: str, object_id: str, *,
                 version: int | None = None) -> Verified:
        """What the proof bundle of a version ``actor`` reads in ``collection`` (the latest by default) proves,
        checked the way a member's own verifier checks it (``verify_bundle``) against this log's keys and known
        witnesses; raises the error named by the cause (not logged yet, a copy with parts removed, a proof that
        fails)."""
        return verify_bundle(self.bundle(actor, reader, collection, object_id, version=version),
                             self._ledger.trust())

    def _logged(self, object_id: str, version: int) -> list[tuple[int, dict[str, Any]]]:
        return [(i, e) for i, e, _ in self._ledger.find(object_id)
                if e.get("kind") == "object" and parse_micros(e["version"]) == version]

    # -- ingest ----------------------------------------------------------------------------------------------

    def check(self, obj: StixObject, org_id: str, *, mode: Mode) -> StixObject | str:
        """The object to store (signed by the hub when it holds the organization's custodial key), or why it is
        refused."""
        if carries_signature(obj.canonical):  # a fast test: the block's id appears somewhere in the object
            try:
                if self.verify(obj) is not None:
                    return obj
            except Error as exc:
                return "signature: " + exc.message
        anonymous = is_anonymous(obj)  # a signature would name the organization: the hub never signs one
        if obj.created_by_ref in (None, org_id) and not anonymous:
            custodial = self._custodial_for(org_id)
            if custodial is not None:
                try:
                    return StixObject.from_dict(sign_object(obj.properties(), custodial), mode=mode,
                                                limits=self._limits)
                except Error as exc:
                    return "signature: the hub could not sign it: " + exc.message
        if self._settings.require_signatures and anonymous:
            return ("unsigned: this node accepts only signed objects, and a signature would name your organization: "
                    "it takes no anonymous sightings")
        if self._settings.require_signatures:
            return ("unsigned: this node accepts only signed objects; sign them with your organization's key "
                    "('phalanx sign' or 'phalanx import --sign KEYFILE')")
        return obj

    def verify(self, obj: StixObject, *, at: int | None = None) -> PublicKey | None:
        """Check the signature ``obj`` carries, as made at ``at`` (now); return the key that made it (None: the
        object is not signed)."""
        props = obj.properties()
        signature = read_signature(props)
        if signature is None:
            return None
        key = self.key(signature.key_id)
        key.check_time(self._clock() if at is None else at)
        key.verify(signature.message, signature.ed25519, signature.ml_dsa_44)
        if obj.created_by_ref is not None and obj.created_by_ref != key.org:
            raise InvalidSignature(f"{obj.id} names {obj.created_by_ref} as its creator but is signed with a key "
                                   f"of {key.org}")
        return key


def _earliest(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)
