"""Errors raised by Phalanx, named by their cause.

Every error carries a ``diagnostics()`` text that tells the user what went wrong and what to do next.
A foreign exception (``ValueError``, ``sqlite3.Error``, ``psycopg.Error``...) escaping a public function is a
bug: backends translate them at their boundary and re-raise one of these ``from`` the original.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "ConfigError",
    "Conflict",
    "Equivocation",
    "Error",
    "Inconsistent",
    "InputTooLarge",
    "InvalidCursor",
    "InvalidJSON",
    "InvalidNote",
    "InvalidObservation",
    "InvalidParameter",
    "InvalidPattern",
    "InvalidProof",
    "InvalidQuery",
    "InvalidRecipients",
    "InvalidSTIX",
    "InvalidSignature",
    "KeyNotValid",
    "NotFound",
    "PeerRefused",
    "PeerUnavailable",
    "PermissionDenied",
    "RevokedObject",
    "StoreError",
    "StoreUnavailable",
    "UnknownKey",
    "UnreadableInput",
    "UnsignedObject",
    "Violation",
    "WarningListed",
    "WeakPassword",
]

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


class Error(Exception):
    """Base class of every Phalanx error."""

    hint: str = "See the Phalanx documentation, docs/index.md."

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint

    def diagnostics(self) -> str:
        """A text for people: what went wrong, then what to do."""
        return f"{self.message}\n  what to do: {self.hint}"

    def __reduce__(self) -> tuple[object, ...]:
        # Errors cross process boundaries (parallel parsing): rebuild them whatever their __init__ takes.
        return (_restore, (type(self), self.args, self.__dict__))


def _restore(cls: type[Error], args: tuple[object, ...], state: dict[str, object]) -> Error:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class ConfigError(Error):
    """A setting is missing or has a value Phalanx cannot use."""

    hint = "Fix the setting (docs/settings.md lists every one) and run the command again."


class InvalidJSON(Error):
    """Input is not well-formed JSON (or not UTF-8)."""

    hint = "Send UTF-8 encoded JSON: a STIX bundle, one STIX object, or JSON lines (one object per line)."


class UnreadableInput(Error):
    """A file could not be read (missing, not readable, or not the compression its name says)."""

    hint = "Check the file: .gz files must be gzip; other files are read as plain UTF-8 JSON or JSON lines."


class InputTooLarge(Error):
    """Input exceeds a configured cap (document size or nesting depth)."""

    hint = "Split the input into smaller bundles, or raise the cap (PHALANX_MAX_DOCUMENT_BYTES, PHALANX_MAX_DEPTH)."


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule of STIX 2.1: which object, which property, which rule."""

    object_id: str
    path: str
    rule: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"{self.object_id or '<no id>'}"
        if self.path:
            where += f" {self.path}"
        return f"{where}: {self.message} [{self.rule}]"


class InvalidSTIX(Error):
    """An object breaks one or more rules of STIX 2.1."""

    hint = (
        "Fix the object so it follows STIX 2.1, or import in tolerant mode (--tolerant) "
        "if it comes from a feed that carries custom content."
    )

    def __init__(self, violations: list[Violation], *, hint: str | None = None) -> None:
        errors = [v for v in violations if v.severity == "error"]
        ids = {v.object_id for v in errors}
        if len(ids) == 1:  # one object: name it once, then each broken property
            shown = f"{next(iter(ids)) or '<no id>'}: " + "; ".join(
                (f"{v.path}: " if v.path else "") + f"{v.message} [{v.rule}]" for v in errors[:5])
        else:
            shown = "; ".join(str(v) for v in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(f"invalid STIX {shown}{more}", hint=hint)
        self.violations = violations


class StoreError(Error):
    """The object store failed in a way that is not the caller's fault."""

    hint = "Check the database (phalanx stats, phalanx db upgrade) and the server log."


class StoreUnavailable(StoreError):
    """The database cannot be reached or opened."""

    hint = "Check that the database URL (PHALANX_DATABASE_URL) is right and the server is running."


class Conflict(Error):
    """Another object version with the same id and modified timestamp, but different content, is stored."""

    hint = ("Use the one that exists, or choose another name or id. For STIX objects: a changed object needs a "
            "new 'modified' timestamp (a new version) instead of rewriting one.")


class RevokedObject(Error):
    """The object was revoked; revocation is final."""

    hint = "A revoked object cannot get new versions: create a new object with a new id."


class InvalidCursor(Error):
    """A paging cursor was not made by this store (garbled, truncated or from another program)."""

    hint = "Pass back the 'next' value of the previous page unchanged, or start again without a cursor."


class InvalidQuery(Error):
    """A query asks for something the store cannot answer (a limit below 1, an unknown version filter)."""

    hint = "Fix the query: limit must be at least 1; versions are 'first', 'last', 'all' or timestamps."


class InvalidParameter(Error):
    """A URL parameter is unknown to the endpoint, given twice or empty, or has a value it cannot use."""

    hint = "See docs/taxii.md (TAXII) or docs/api.md (the JSON API) for each endpoint's parameters and formats."


class InvalidRecipients(Error):
    """The recipients named for shared objects do not exist, or do not belong to the collection's community."""

    hint = ("Name organizations (names or ids) and people (usernames) of the community the collection belongs "
            "to; the hub's operator can list them.")


class NotFound(Error):
    """The thing asked for does not exist."""

    hint = ("Check the name or id: 'phalanx org list', 'community list', 'collection list', 'user list' and "
            "'key list' show what exists.")


class AuthenticationError(Error):
    """The caller could not be identified (no key, unknown key, revoked or expired key)."""

    hint = "Send a valid API key: 'Authorization: Bearer KEY'. 'phalanx key create' makes one."


class WeakPassword(Error):
    """A password cannot be set: too short (under 12 characters) or too long (over 1024), containing the user
    name, or holding a NUL or a lone surrogate."""

    hint = ("Choose a password of 12 to 1024 characters that does not contain the user name, e.g. a few random "
            "words; a password manager can make one.")


class PermissionDenied(Error):
    """The caller is known but its role does not allow the action."""

    hint = "Ask an administrator of your organization for a key with the role that allows this."


class InvalidProof(Error):
    """A Merkle inclusion or consistency proof does not prove what it claims (RFC 9162 section 2.1)."""

    hint = ("Fetch the proof again from the log ('phalanx ledger prove'); if a fresh proof fails too, the log is "
            "not the one you trust: keep both checkpoints as evidence and tell the community's operators.")


class InvalidNote(Error):
    """A signed note (a checkpoint or a cosignature, C2SP signed-note) is malformed or lacks a required signature."""

    hint = "Check that the text is a whole signed note (the body, a blank line, '— name signature' lines)."


class InvalidSignature(Error):
    """A signature does not verify against the key it names."""

    hint = ("The object or note was changed after it was signed, or signed with another key: sign it again "
            "('phalanx sign') with a key registered for your organization.")


class UnknownKey(Error):
    """A signature names a key this node (or the verifier) does not know."""

    hint = "Register the public key first ('phalanx keys publish'), or pass the verifier the key it needs."


class KeyNotValid(Error):
    """A key was used outside its validity period, or after the time it was reported compromised."""

    hint = "Sign with a current key of your organization ('phalanx keys list' shows them and their periods)."


class UnsignedObject(Error):
    """The node requires signed objects and one arrived without a signature."""

    hint = "Sign the objects before sharing them ('phalanx sign FILE --key KEYFILE' or 'phalanx import --sign')."


class Inconsistent(Error):
    """A log's new checkpoint is not an extension of one signed or witnessed before."""

    hint = ("Do not trust this log: keep both checkpoints as evidence and tell the community's operators. "
            "A log never needs to rewrite its history.")


class Equivocation(Inconsistent):
    """Two checkpoints of one log, both validly signed, give the same size different roots: proof the log lied."""

    def __init__(self, message: str, *, first: str, second: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.first = first
        self.second = second


class PeerUnavailable(Error):
    """A peer node could not be reached, or failed (a network error, a timeout, a 5xx answer)."""

    hint = ("Check that the peer is running and reachable at its URL ('phalanx peer status'); this node retries "
            "by itself, with a growing delay, and catches up without loss when the peer is back.")


class PeerRefused(Error):
    """A peer node refused a request of this node (4xx): the key, the collection or the request is wrong."""

    hint = ("Check the key the peer's operator gave you ('phalanx peer add URL --key ...') and that it is a peer "
            "key of an organization that is a member of the peer's community.")


class InvalidObservation(Error):
    """Observed data cannot be matched: an observed-data lacks its times or count, or a property a pattern
    compares holds a value that comparison cannot read (a timestamp, an IP address or CIDR block that does not
    parse, a reference that is not an id, a ``*_hex``/``*_bin`` value that does not decode)."""

    hint = ("Fix the observed data: observed-data needs first_observed, last_observed, number_observed >= 1 and "
            "object_refs (STIX 2.1) or objects (STIX 2.0); timestamps look like 2024-01-31T12:00:00Z.")


class InvalidPattern(Error):
    """A STIX pattern does not parse, or uses a construct wrongly: where (an offset into the pattern) and what
    was expected there."""

    hint = ("Fix the pattern at the position shown; STIX 2.1 section 9 has the grammar. Example: "
            "[ipv4-addr:value = '198.51.100.1'] OR [domain-name:value = 'example.com']")

    def __init__(self, message: str, *, position: int, expected: tuple[str, ...] = (), pattern: str = "",
                 hint: str | None = None) -> None:
        where = f"at position {position}"
        if pattern:
            start = max(0, position - 20)
            where += f" ({'...' if start else ''}{pattern[start:position]}>>>{pattern[position:position + 20]})"
        super().__init__(f"{message} {where}", hint=hint)
        self.position = position
        self.expected = expected
        self.pattern = pattern


class WarningListed(Error):
    """An indicator alerts on a value that a MISP warning list names as usually benign (a top-1M domain, a private
    address, a public DNS resolver, the hash of an empty file), and the node refuses such indicators (setting
    ``warninglists = 'refuse'``)."""

    hint = ("Check the value: if it is not what the indicator is about, remove it from the pattern; if it is, ask "
            "the node's operator to set warninglists = 'warn' (accepted with a warning).")
