"""STIX 2.1: parse, validate, canonicalize and identify objects.

    >>> from phalanx.stix import Mode, StixObject
    >>> obj = StixObject.from_json(b'{"type": "ipv4-addr", "spec_version": "2.1", '
    ...     b'"id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "value": "198.51.100.3"}')
    >>> obj.type, obj.digest[:12]
    ('ipv4-addr', '5b6b4c0d1a86')

``parse_document`` takes a bundle, an object, a JSON array or JSON lines and returns one ``StixObject`` or
``Refused`` (with its reason) per input object. ``Mode.TOLERANT`` keeps custom content that real feeds carry.
"""

from ._ids import IDENTIFIER_RE, SCO_NAMESPACE, deterministic_id, is_identifier
from ._json import canonical, digest
from ._model import Limits, Mode, Parsed, Refused, StixObject, iter_jsonl, parse_document
from ._parallel import default_workers, parse_jsonl_parallel
from ._timestamps import format_micros, now_micros, parse_micros
from ._tlp import LEVEL_OF_MARKING, TLP2_EXTENSION_ID, TLP_BY_ID, Tlp, marking_ids, tlp_marking_definition, tlp_of
from ._validate import validate

__all__ = [
    "IDENTIFIER_RE",
    "LEVEL_OF_MARKING",
    "SCO_NAMESPACE",
    "TLP2_EXTENSION_ID",
    "TLP_BY_ID",
    "Limits",
    "Mode",
    "Parsed",
    "Refused",
    "StixObject",
    "Tlp",
    "canonical",
    "default_workers",
    "deterministic_id",
    "digest",
    "format_micros",
    "is_identifier",
    "iter_jsonl",
    "marking_ids",
    "now_micros",
    "parse_document",
    "parse_jsonl_parallel",
    "parse_micros",
    "tlp_marking_definition",
    "tlp_of",
    "validate",
]
