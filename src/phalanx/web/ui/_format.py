"""Small formatting filters for the templates (pure functions of their input)."""

from __future__ import annotations

__all__ = ["FILTERS", "tlp_class", "when"]

from collections.abc import Callable
from datetime import datetime
from typing import Any

from ._markdown import render_markdown


def tlp_class(level: str | None) -> str:
    """The CSS class of a TLP label: ``TLP:AMBER+STRICT`` -> ``amber``; anything unknown -> ``unknown``."""
    name = (level or "").upper().removeprefix("TLP:")
    if name.startswith("AMBER"):
        return "amber"
    return name.lower() if name in ("RED", "GREEN", "CLEAR") else "unknown"


def when(stamp: str | None) -> str:
    """An RFC 3339 timestamp as ``2026-11-29 15:22 UTC``."""
    if not stamp:
        return ""
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    return moment.strftime("%Y-%m-%d %H:%M UTC")


FILTERS: dict[str, Callable[..., Any]] = {"tlp_class": tlp_class, "when": when, "markdown": render_markdown}
