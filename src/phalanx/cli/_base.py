"""What every command shares: the settings, opening the node, and turning errors into advice."""

from __future__ import annotations

__all__ = ["PhalanxGroup", "State", "echo_json", "pass_state"]

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from ..config import Settings
from ..errors import Error
from ..service import Node
from ..stix._json import dumps


@dataclass
class State:
    home: Path | None

    def settings(self) -> Settings:
        return Settings.load(self.home)

    @contextmanager
    def node(self, *, upgrade: bool = False) -> Iterator[Node]:
        settings = self.settings()
        if not upgrade and settings.database.startswith("sqlite:///") and not settings.home.exists():
            raise click.ClickException(
                f"no Phalanx node in {settings.home.resolve()}: run 'phalanx init' first "
                "(or pass --home / set PHALANX_HOME)"
            )
        node = Node.open(settings, upgrade=upgrade)
        try:
            yield node
        finally:
            node.close()


pass_state = click.make_pass_decorator(State)


class PhalanxGroup(click.Group):
    """A click group that prints a Phalanx error as 'error: ...' plus what to do, and exits 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Error as exc:
            click.echo(f"error: {exc.message}", err=True)
            click.echo(f"  what to do: {exc.hint}", err=True)
            sys.exit(1)


def echo_json(value: Any) -> None:
    click.echo(dumps(value).decode("utf-8"))
