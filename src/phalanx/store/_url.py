"""Database URLs fit for messages: ``redact_url`` hides the passwords in them."""

from __future__ import annotations

__all__ = ["redact_url"]

import re

_AUTHORITY = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)([^/?#]*)")
_PASSWORD_PARAM = re.compile(r"(?i)((?:^|[?&;\s])(?:ssl)?password\s*=\s*)('[^']*'|[^&;#\s]*)")


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ``***``: the one in the userinfo (``user:PASSWORD@host``) and any
    ``password=`` or ``sslpassword=`` parameter (``?password=...`` in a URL, ``password=...`` in a key=value
    conninfo).

    Everything else is kept as written, so ``sqlite:`` and ``memory:`` URLs come back unchanged."""

    def userinfo(match: re.Match[str]) -> str:
        scheme, authority = match.groups()
        credentials, at, hosts = authority.rpartition("@")  # a raw '@' in a password: the last one ends it
        if not at or ":" not in credentials:
            return match.group(0)
        user = credentials.split(":", 1)[0]
        return f"{scheme}{user}:***@{hosts}"

    return _PASSWORD_PARAM.sub(r"\1***", _AUTHORITY.sub(userinfo, url, count=1))
