"""Timestamps read the way the OASIS reference matcher (stix2-matcher) reads them, as microseconds since the epoch.

Used for ``first_observed``/``last_observed``, for timestamp constants of a pattern (``t'...'``, ``START``/``STOP``)
and for string property values compared with a timestamp constant. The rules, which are not RFC 3339's:

- no lower-case letter anywhere (``t`` and ``z`` are refused);
- ``YYYY-MM-DDTHH:MM:SS[.fraction]Z`` as ``datetime.strptime`` reads it (which also takes one-digit months, days,
  hours, minutes and seconds); the fraction has 1 to 6 digits, or more, cut (not rounded) to 6;
- no offset other than ``Z``, no leap second.

``micros`` raises ``ValueError``; callers turn it into the error that names the cause. Results are cached:
observations repeat the same few timestamps.
"""

from __future__ import annotations

__all__ = ["micros"]

import re
from datetime import UTC, datetime
from functools import lru_cache

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICROSECOND_DAYS = 86_400_000_000
_PLAIN = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,6}))?Z")


@lru_cache(maxsize=8192)
def micros(text: str) -> int:
    """Microseconds since 1970-01-01T00:00:00Z, or ``ValueError``."""
    if any(c.islower() for c in text):
        raise ValueError(f"invalid timestamp {text!r}: T and Z must be upper case")
    if "." in text:
        head, fraction, *rest = text.split(".")
        if len(fraction) > 7 and fraction.endswith("Z"):  # more digits than a datetime holds: cut to 6
            text = ".".join((head, fraction[:6] + "Z", *rest))
    plain = _PLAIN.fullmatch(text)
    if plain is not None:  # the usual form: no need for strptime
        year, month, day, hour, minute, second, fraction = plain.groups()
        try:
            moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                              int((fraction or "0").ljust(6, "0")))
        except ValueError:
            moment = _strptime(text)  # out of range: strptime says why (or, for odd forms, accepts)
    else:
        moment = _strptime(text)
    days = moment.toordinal() - _EPOCH_ORDINAL
    return days * _ONE_MICROSECOND_DAYS + (
        (moment.hour * 3600 + moment.minute * 60 + moment.second) * 1_000_000 + moment.microsecond)


_EPOCH_ORDINAL = _EPOCH.toordinal()


def _strptime(text: str) -> datetime:
    layout = "%Y-%m-%dT%H:%M:%S.%fZ" if "." in text else "%Y-%m-%dT%H:%M:%SZ"
    return datetime.strptime(text, layout)
