"""STIX 2.1 timestamps (section 3.2): RFC 3339, UTC only (``Z``), any sub-second precision.

Inside Phalanx a timestamp is an integer count of microseconds since the Unix epoch: it orders, compares and
indexes cheaply. Digits beyond the microsecond are kept in the object's JSON but not in the integer.
"""

from __future__ import annotations

__all__ = ["TIMESTAMP_RE", "format_micros", "now_micros", "parse_micros"]

import functools
import re
import time
from datetime import UTC, datetime, timedelta

TIMESTAMP_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?Z"
)
_EPOCH_DAYS = datetime(1970, 1, 1).toordinal()


@functools.lru_cache(maxsize=16384)
def parse_micros(text: str) -> int:
    """Microseconds since the epoch, or ``ValueError`` if ``text`` is not a STIX timestamp.

    Cached: bulk feeds repeat the same few ``created``/``modified`` values across thousands of objects.
    """
    match = TIMESTAMP_RE.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not an RFC 3339 UTC timestamp like 2024-01-31T12:00:00.000Z")
    year, month, day, hour, minute, second, fraction = match.groups()
    sec = int(second)
    if sec == 60:  # a leap second: RFC 3339 allows it; it sorts as the last microsecond of its minute.
        sec = 59
        extra = 999_999
    else:
        extra = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        days = datetime(int(year), int(month), int(day)).toordinal() - _EPOCH_DAYS
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a valid date: {exc}") from None
    h, m = int(hour), int(minute)
    if h > 23 or m > 59:
        raise ValueError(f"{text!r} has an hour or minute out of range")
    return ((days * 86400 + h * 3600 + m * 60 + sec) * 1_000_000) + extra


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def format_micros(micros: int) -> str:
    """The STIX form of a microsecond timestamp, with microsecond precision: 2024-01-31T12:00:00.000000Z. Years
    are written with four digits (0001 to 9999); ``ValueError`` outside them."""
    seconds, rest = divmod(micros, 1_000_000)
    return f"{_second(seconds)}.{rest:06d}Z"


@functools.lru_cache(maxsize=4096)
def _second(seconds: int) -> str:
    """The date and time of a second (cached: the ledger formats runs of timestamps within the same second)."""
    try:
        m = _EPOCH + timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError(f"{seconds} seconds is outside the years 0001-9999") from None
    return f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}"


def now_micros() -> int:
    """The current time in microseconds since the epoch."""
    return time.time_ns() // 1000
