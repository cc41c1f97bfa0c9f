"""The words an object version is found by in a free-text search, computed once, when it is stored.

    >>> from phalanx.analysis._text import query_terms, text_terms
    >>> query_terms('Emotet "loader" evil.example.com')
    ('emotet', 'loader', 'evil.example.com')
    >>> terms = text_terms("indicator", b'{"name":"Emotet loader","pattern":"[domain-name:value = \\'a.b.example\\']"}')
    >>> all(t in terms for t in query_terms('emotet b.example'))
    True

Python decides what the words are, the same way for every store: text is NFKC-normalized and case-folded, a
*word* is a run of letters and digits, and a *compound* is a run of words joined by ``.``, ``-`` or ``_``
(``198.51.100.7``, ``evil.example.com``, ``cve-2021-44228``, ``t1059.001``). A version carries each word and each
compound of its text, and the parent domains of a dotted compound (``example.com`` for ``x.evil.example.com``);
a query asks for each of its words and compounds, all of them. So ``evil.example.com`` finds the objects that
name that domain or one under it, and ``emotet loader`` those whose text holds both words, in any order.

Markers the user cannot type (they begin with NUL) stand for the filters a search applies through the index: the
version's type (``type_term``), each label (``label_term``), anonymity (``ANONYMOUS``), and ``ALL``, which every
version carries, so that a search with no words still asks the index for something.

Terms come only from what every reader of the version sees: parts its granular markings restrict beyond the
version's own level are left out (as for correlation keys), so no search finds a version by text a reader may
not read. The store keeps the terms as it likes (the SQL backends as fixed-size hashes): user text never reaches
an index's query language.
"""

from __future__ import annotations

__all__ = [
    "ALL",
    "ANONYMOUS",
    "MAX_QUERY_TERMS",
    "MAX_TERMS",
    "TEXT_FIELDS",
    "label_term",
    "query_terms",
    "text_terms",
    "type_term",
    "words",
]

import re
import unicodedata
from collections.abc import Iterator
from typing import Any

import orjson

from ..stix import Tlp
from ..stix._markings import redact

ALL = "\0all"
"""Every version carries it."""
ANONYMOUS = "\0anonymous"
"""An anonymous sighting (``x_phalanx_anonymous``) carries it: a search by contributor leaves it out."""
TEXT_FIELDS = ("name", "aliases", "x_mitre_aliases", "labels", "description", "pattern", "value", "content",
               "abstract", "explanation", "external_references")
"""The properties whose text a version is found by, in the order their words are taken."""
MAX_TEXT = 64 * 1024
"""Characters of text read from one version (a long report is found by its first 64 Ki characters)."""
MAX_TERMS = 2000
"""Terms one version carries at most."""
MAX_QUERY_TERMS = 16
"""Terms one query asks for at most (words beyond are ignored)."""
_MAX_TERM = 256
"""A longer word or compound is not a term (a base64 blob is nothing anyone searches for)."""

_WORD = re.compile(r"[^\W_]+")
_CHUNK = re.compile(r"[\w.\-]+")
_EDGE = ".-_"
_ANONYMOUS_MARK = b'"x_phalanx_anonymous"'


def type_term(type_: str) -> str:
    return "\0type\0" + type_


def label_term(label: str) -> str:
    return "\0label\0" + _fold(label).strip()


def _fold(text: str) -> str:
    return text.lower() if text.isascii() else unicodedata.normalize("NFKC", text).casefold()


def _chunks(text: str) -> Iterator[str]:
    for match in _CHUNK.findall(_fold(text)):
        chunk = match.strip(_EDGE)
        if chunk and len(chunk) <= _MAX_TERM:
            yield chunk


def _add_words(text: str, out: list[str]) -> None:
    """Append the terms ``text`` carries to ``out`` (a plain loop: this runs for every object stored)."""
    for found in _CHUNK.findall(_fold(text)):
        chunk = found.strip(_EDGE)
        if not chunk or len(chunk) > _MAX_TERM:
            continue
        out.append(chunk)
        if chunk.isalnum():  # one word (the pattern's \w is str.isalnum, and "_")
            continue
        # a compound: its parts are the runs between ".", "-" and "_" (the only other characters it holds)
        if chunk.count(".") > 1:
            labels = chunk.split(".")
            if not labels[-1].isdigit():  # a domain's parents, not an address's tail
                out.extend(".".join(labels[start:]) for start in range(1, min(len(labels) - 1, 8)))
        out.extend(part for part in chunk.replace("-", ".").replace("_", ".").split(".") if part)


def words(text: str) -> list[str]:
    """The terms ``text`` carries: each compound (and its parent domains), then each of its words."""
    found: list[str] = []
    _add_words(text, found)
    return found


def query_terms(text: str) -> tuple[str, ...]:
    """What a query asks for: each of its words and compounds (not their parts), at most ``MAX_QUERY_TERMS``."""
    found: dict[str, None] = {}
    for chunk in _chunks(text):
        if _WORD.search(chunk):
            found.setdefault(chunk)
        if len(found) == MAX_QUERY_TERMS:
            break
    return tuple(found)


def _texts(value: object, key: str, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, str):
                out.append(item)
            elif key == "external_references" and isinstance(item, dict):
                out.extend(v for name in ("external_id", "source_name") if isinstance(v := item.get(name), str))


def text_terms(type_: str, canonical: bytes, *, level: Tlp | None = None) -> tuple[str, ...]:
    """The terms of a version as the store holds it (its type and canonical JSON): ``ALL``, its type, its labels,
    and the words of ``TEXT_FIELDS``, at most ``MAX_TERMS``. With ``level``, the parts its granular markings
    restrict beyond that level are left out."""
    data: dict[str, Any] = orjson.loads(canonical)
    if level is not None and b'"granular_markings"' in canonical:
        data = redact(data, above=level)
    terms = [ALL, type_term(type_)]
    if _ANONYMOUS_MARK in canonical and data.get("x_phalanx_anonymous") is True:
        terms.append(ANONYMOUS)
    labels = data.get("labels")
    if isinstance(labels, list):
        terms.extend(label_term(label) for label in labels[:100] if isinstance(label, str) and label.strip())
    texts: list[str] = []
    for key in TEXT_FIELDS:
        value = data.get(key)
        if value is not None:
            _texts(value, key, texts)
    text = "\n".join(texts)
    _add_words(text if len(text) <= MAX_TEXT else text[:MAX_TEXT], terms)
    return tuple(dict.fromkeys(terms))[:MAX_TERMS]
