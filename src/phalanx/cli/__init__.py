"""The ``phalanx`` command. Every subcommand has ``--help``; docs/cli.md is generated from them."""

from __future__ import annotations

__all__ = ["cli", "main"]

from ._app import cli


def main() -> None:
    """Entry point of the ``phalanx`` console script."""
    cli(prog_name="phalanx")
