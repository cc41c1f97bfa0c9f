"""The node's settings as an administrator may read them: every setting, with secrets hidden.

    >>> from phalanx.config import Settings
    >>> from phalanx.identity import Actor, Role
    >>> rows = shown_settings(Settings(database_url="postgresql://app:hunter2@db/phalanx", session_secret="s3"),
    ...                       by=Actor("identity--a", Role.ADMIN))
    >>> {r.name: r.value for r in rows}["database_url"]
    'postgresql://app:***@db/phalanx'
    >>> {r.name: r.value for r in rows}["session_secret"]
    'set (hidden)'

A secret is never shown, only whether it is set: ``session_secret`` and ``tls_key`` (the private key's path is
hidden too: it says where to look). URLs (``database_url``, ``bus_url``) are shown through ``redact_url``.
"""

from __future__ import annotations

__all__ = ["ShownSetting", "shown_settings"]

import enum
from dataclasses import dataclass, fields
from typing import Any

from ..config import SETTINGS, Settings
from ..identity import Actor
from ..policy import may_operate, require
from ..store import redact_url
from ..streams._nats import redact_bus_url

HIDDEN = frozenset({"session_secret", "tls_key"})
"""Settings whose value is never shown, only whether one is set."""
URLS = frozenset({"database_url", "bus_url"})
"""Settings that are URLs: shown with their passwords redacted."""


@dataclass(frozen=True, slots=True)
class ShownSetting:
    name: str
    """The key in ``phalanx.toml``."""
    env: str
    """The environment variable that sets it."""
    value: str
    """As it may be shown (secrets hidden, URL passwords redacted)."""
    default: bool
    """Whether it has its default value."""


def shown_settings(settings: Settings, *, by: Actor) -> list[ShownSetting]:
    """The node's settings, in documented order, as ``by`` may see them: node administrators only
    (``may_operate``)."""
    require(may_operate(by))
    defaults = Settings()
    rows = [ShownSetting("home", "PHALANX_HOME", str(settings.home), settings.home == defaults.home)]
    known = {f.name for f in fields(Settings)}
    for setting in SETTINGS:
        if setting.field not in known:
            continue
        value = getattr(settings, setting.field)
        is_default = value == getattr(defaults, setting.field)
        rows.append(ShownSetting(setting.field, setting.env, _shown(setting.field, value, settings), is_default))
    return rows


def _shown(name: str, value: Any, settings: Settings) -> str:
    if name in HIDDEN:
        if not value:
            return "not set" if name == "tls_key" else "not set: a random key kept in the home folder (session.key)"
        return "set (hidden)"
    if name == "database_url":
        return redact_url(settings.database) + ("" if value else " (the embedded default)")
    if name == "bus_url":
        return redact_bus_url(str(value))
    if name in URLS:
        return redact_url(str(value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, enum.Enum):
        label = getattr(value, "label", None)
        return str(label) if label is not None else str(value.value)
    if name == "parse_workers" and value == -1:
        return "auto"
    return str(value)
