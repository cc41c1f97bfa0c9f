"""JSON in and out: bounded parsing, RFC 8785 canonical form, and the digest of an object version.

RFC 8785 (JSON Canonicalization Scheme, JCS) in short:
  (3.2.1) no whitespace between tokens;
  (3.2.2) literals as in ES6: strings escaped as ``JSON.stringify`` does, numbers as ``Number.prototype.toString``;
  (3.2.3) object members sorted by the UTF-16 code units of their names, recursively;
  (3.2.4) output in UTF-8.
The fast path hands the work to orjson, whose string escaping is exactly (3.2.2) and whose key sort (by code
point) equals (3.2.3) whenever no name holds a character outside the Basic Multilingual Plane. Values that
need more (floats, integers beyond 2**53, non-BMP names) go through the reference path below, which follows
the RFC line by line.
"""

from __future__ import annotations

__all__ = ["canonical", "digest", "dumps", "loads", "measure"]

import hashlib
import math
from typing import Any

import orjson

from ..errors import InputTooLarge, InvalidJSON

_MAX_SAFE_INTEGER = 2**53 - 1


def loads(data: bytes | str, *, max_bytes: int, max_depth: int | None) -> Any:
    """Parse UTF-8 JSON, refusing documents larger than ``max_bytes`` or nested deeper than ``max_depth``.

    With ``max_depth=None`` only the parser's own limit (1024 levels) applies: callers that check each object
    of a document on its own, and refuse just that object, use it.
    """
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise InputTooLarge(f"document is {size} bytes; the limit is {max_bytes} bytes")
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if "depth limit" in str(exc):
            raise InputTooLarge(f"document nests deeper than the limit of {max_depth or 1024} levels") from exc
        raise InvalidJSON(f"not valid JSON: {exc}") from exc
    if max_depth is not None:
        depth, _ = measure(value)
        if depth > max_depth:
            raise InputTooLarge(f"document nests {depth} levels deep; the limit is {max_depth}")
    return value


def measure(value: Any) -> tuple[int, bool]:
    """Return (nesting depth, whether the value needs the reference canonicalizer).

    Iterative (a hostile document cannot exhaust the stack) and dispatching on exact types, since it runs on
    every object of every bulk import.
    """
    depth = 0
    slow = False
    stack: list[tuple[Any, int]] = [(value, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        item, level = pop()
        kind = type(item)
        if kind is dict:
            if not slow:
                for key in item:
                    if not key.isascii() and any(ord(ch) > 0xFFFF for ch in key):
                        slow = True
                        break
            children: Any = item.values()
        elif kind is list:
            children = item
        else:
            if kind is float or (kind is int and not -_MAX_SAFE_INTEGER <= item <= _MAX_SAFE_INTEGER):
                slow = True
            continue
        if level > depth:
            depth = level
        for child in children:
            child_kind = type(child)
            if child_kind is str or child_kind is bool or child is None:
                continue
            if child_kind is dict or child_kind is list:
                push((child, level + 1))
            elif child_kind is float or (child_kind is int and not -_MAX_SAFE_INTEGER <= child <= _MAX_SAFE_INTEGER):
                slow = True
    return depth, slow


def dumps(value: Any) -> bytes:
    """Compact JSON (not canonical): for output where order does not matter."""
    return orjson.dumps(value)


def canonical(value: Any, *, slow: bool | None = None) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a JSON value."""
    if slow is None:
        _, slow = measure(value)
    if not slow:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    parts: list[str] = []
    _serialize(value, parts)
    return "".join(parts).encode("utf-8")


def digest(canonical_bytes: bytes) -> str:
    """SHA-256 of the canonical form, lower-case hex: the digest of one object version."""
    return hashlib.sha256(canonical_bytes).hexdigest()


# --- the reference path, RFC 8785 section 3.2 -------------------------------------------------------------


def _serialize(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, int):
        out.append(_number(float(value)) if abs(value) > _MAX_SAFE_INTEGER else str(value))
    elif isinstance(value, float):
        out.append(_number(value))
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _serialize(item, out)
        out.append("]")
    elif isinstance(value, dict):
        # (3.2.3) sort by UTF-16 code units, not by code points.
        out.append("{")
        for i, key in enumerate(sorted(value, key=_utf16_key)):
            if i:
                out.append(",")
            out.append(_string(key))
            out.append(":")
            _serialize(value[key], out)
        out.append("}")
    else:
        raise InvalidJSON(f"cannot canonicalize a value of type {type(value).__name__}")


def _utf16_key(name: str) -> bytes:
    return name.encode("utf-16-be", "surrogatepass")


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _string(text: str) -> str:
    # (3.2.2.2) as ES6 JSON.stringify: the short escapes, other controls as \u00xx, everything else verbatim.
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif code < 0x20 or 0xD800 <= code <= 0xDFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _number(value: float) -> str:
    # (3.2.2.3) ES6 Number.prototype.toString, from the shortest round-trip digits Python's repr gives.
    if math.isnan(value) or math.isinf(value):
        raise InvalidJSON("NaN and Infinity are not JSON numbers")
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    mantissa, _, exp_text = repr(abs(value)).partition("e")
    exponent = int(exp_text) if exp_text else 0
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    # value = 0.<digits> * 10**n
    if whole.strip("0"):
        n = len(whole.lstrip("0")) + exponent
    else:
        n = exponent - (len(fraction) - len(fraction.lstrip("0")))
    digits = digits.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        exp = f"e{'+' if e >= 0 else '-'}{abs(e)}"
        text = (digits if k == 1 else digits[0] + "." + digits[1:]) + exp
    return sign + text
