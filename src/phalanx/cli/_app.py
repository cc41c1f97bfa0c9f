"""The root ``phalanx`` group and its subcommands."""

from __future__ import annotations

__all__ = ["cli"]

from pathlib import Path

import click

from .. import __version__
from ._base import PhalanxGroup, State
from ._correlation_cmds import correlate
from ._data_cmds import db, export, import_, stats
from ._directory_cmds import collection, community, key, org, user
from ._ledger_cmds import ledger, publish, sign, signing_key, verify
from ._match_cmds import match
from ._node_cmds import init, serve
from ._peer_cmds import peer
from ._policy_cmds import policy
from ._sighting_cmds import sighting
from ._webhook_cmds import webhook


@click.group(cls=PhalanxGroup)
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), default=None, envvar="PHALANX_HOME",
              help="The node's folder (default ./.phalanx; env PHALANX_HOME).")
@click.version_option(__version__, prog_name="phalanx")
@click.pass_context
def cli(ctx: click.Context, home: Path | None) -> None:
    """Phalanx: share threat intelligence (STIX 2.1) with your community."""
    ctx.obj = State(home)


for _command in (init, serve, org, community, collection, user, key, signing_key, import_, sign, publish, export,
                 stats, match, sighting, correlate, policy, ledger, verify, peer, webhook, db):
    cli.add_command(_command)
