"""A decision, and what turns a refusal into an error."""

from __future__ import annotations

__all__ = ["Decision", "require"]

from dataclasses import dataclass

from ..errors import PermissionDenied


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str
    remedy: str | None = None
    """For refusals: what would change the decision."""


def require(decision: Decision) -> None:
    """Raise ``PermissionDenied`` with the reason (and the remedy) unless the decision allows."""
    if not decision.allowed:
        raise PermissionDenied(decision.reason, hint=decision.remedy)
