"""phalanx init | serve: make a node, and run it."""

from __future__ import annotations

__all__ = ["init", "serve"]

import os
import socket
from pathlib import Path
from typing import Any

import click

from ..demo import DEMO_PASSWORD, DEMO_USERS_FILE, DemoKey, DemoUser, add_demo_users, load_demo
from ..errors import ConfigError, NotFound
from ..identity import Role
from ..service import Node
from ..store import redact_url
from ._base import State, pass_state

_DEMO_KEYS = "demo-keys.txt"
_GRACE_SECONDS = 5


@click.command()
@click.option("--database", default=None,
              help="Database URL to record in phalanx.toml (default: SQLite in the home folder).")
@click.option("--demo", is_flag=True, help="Also create the demo community with keys and example objects.")
@click.option("--org", "org_name", default=None,
              help="Also create this organization, a community it belongs to (--community) and an org-admin key "
                   "for it (printed once): a member's own node, ready to follow others ('phalanx peer add').")
@click.option("--community", "community_name", default="main", show_default=True,
              help="The community --org makes.")
@pass_state
def init(state: State, database: str | None, demo: bool, org_name: str | None, community_name: str) -> None:
    """Create a node in the home folder (default ./.phalanx) and bring its database schema up to date."""
    if demo and org_name:
        raise ConfigError("--demo and --org make different nodes: choose one")
    home = state.settings().home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "phalanx.toml"
    if database:
        if config.exists():
            raise ConfigError(f"{config} exists already; edit database_url there instead")
        config.write_text(f'database_url = "{database}"\n', encoding="utf-8")
    with state.node(upgrade=True) as node:
        click.echo(f"Phalanx node in {home.resolve()} on {redact_url(node.settings.database)}")
        if demo:
            if node.admin.organizations():
                click.echo("the node has organizations already: not loading the demo again")
            else:
                keys, summary = load_demo(node)
                users = add_demo_users(node)
                _write_demo_users(home, users)
                _write_demo_keys(home, keys, node.settings.host, node.settings.port)
                click.echo(f"demo community loaded: {summary.accepted} objects shared, {summary.refused} refused")
        if org_name:
            _own_node(node, org_name, community_name)
    if demo and (home / _DEMO_KEYS).exists():
        click.echo((home / _DEMO_KEYS).read_text(encoding="utf-8"))
    if demo and (home / DEMO_USERS_FILE).exists():
        host, port = node.settings.host, node.settings.port
        click.echo(f"The dashboard: http://{host}:{port}/ once 'phalanx serve' runs. "
                   + (home / DEMO_USERS_FILE).read_text(encoding="utf-8"))


def _own_node(node: Node, org_name: str, community_name: str) -> None:
    admin = node.admin
    try:
        org = admin.organization(org_name)
    except NotFound:
        org = admin.add_organization(org_name)
    if community_name not in {c.name for c in admin.communities()}:
        admin.add_community(community_name)
    if org.id not in {o.id for o in admin.members(community_name)}:
        admin.join(community_name, org.id)
    secret, _ = admin.create_key(org.id, Role.ORG_ADMIN, label="made by phalanx init --org")
    click.echo(f"organization {org.name!r} in community {community_name!r}; its org-admin key (shown once):")
    click.echo(secret)


def _write_demo_users(home: Path, users: list[DemoUser]) -> None:
    """The demo's sign-in, for the terminal and for the dashboard's sign-in page (``demo-users.txt``)."""
    names = ", ".join(u.username for u in users if u.role != "admin")
    operators = ", ".join(u.username for u in users if u.role == "admin")
    (home / DEMO_USERS_FILE).write_text(
        f"Demo node: sign in as {names} (one per organization) or {operators} (the node's operator), "
        f"with the password {DEMO_PASSWORD}\n", encoding="utf-8")


def _write_demo_keys(home: Path, keys: list[DemoKey], host: str, port: int) -> None:
    lines = ["Demo API keys (demo only: real keys are shown once and never written down):"]
    first: DemoKey | None = None
    for k in keys:
        first = first or k
        lines.append(f"  {k.organization:<24} {k.role:<12} {k.key}")
    base = f"http://{host}:{port}"
    key = first.key if first else "KEY"
    taxii = "-H 'Accept: application/taxii+json;version=2.1'"
    lines += [
        "",
        "Try next (in another terminal):",
        f"  curl {base}/health",
        f"  curl {taxii} -H 'Authorization: Bearer {key}' {base}/taxii2/api/collections/",
        f"  curl -g {taxii} -H 'Authorization: Bearer {key}' "
        f"'{base}/taxii2/api/collections/energy-isac/objects/?match[type]=indicator&limit=5'",
        f"  .venv/bin/phalanx policy explain --key {key} "
        "--object threat-actor--8b6297fe-cae7-47c6-9256-5584b417849c",
        f"  curl -N -H 'Authorization: Bearer {key}' {base}/api/v1/stream   # live: what is shared from now on",
        f"  curl {base}/api/v1/ledger/checkpoint     # the transparency log's signed size and root",
        "  .venv/bin/phalanx stats",
        "  .venv/bin/phalanx --help",
        "TAXII 2.1 is at /taxii2/ (docs/taxii.md); who sees what: docs/policy.md; proofs: docs/ledger.md;",
        "live streams, webhooks and other nodes: docs/streams.md, docs/federation.md (README: three nodes).",
    ]
    path = home / _DEMO_KEYS
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.chmod(path, 0o600)


def _check_free(host: str, port: int) -> None:
    """Fail with advice before printing anything, when the address cannot be bound."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ConfigError(f"cannot listen on {host!r}: {exc}", hint="Use an address of this machine (--host).") from exc
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{port}: {exc.strerror}",
                hint="Is another Phalanx (or anything else) using that port? Stop it, or choose another port "
                     "with --port or the PHALANX_PORT setting.",
            ) from exc


@click.command()
@click.option("--host", default=None, help="Address to listen on (default: setting host, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default: setting port, 8800).")
@pass_state
def serve(state: State, host: str | None, port: int | None) -> None:
    """Run the HTTP server: TAXII 2.1 at /taxii2/ (docs/taxii.md), /health, and the JSON API (docs/api.md)."""
    import uvicorn

    from ..web import create_app

    with state.node() as node:
        settings = node.settings
        ssl: dict[str, Any] = {}
        if settings.tls_cert or settings.tls_key:
            if not (settings.tls_cert and settings.tls_key):
                raise ConfigError("TLS needs both tls_cert and tls_key")
            ssl = {"ssl_certfile": settings.tls_cert, "ssl_keyfile": settings.tls_key}
        bind_host = host or settings.host
        bind_port = port or settings.port
        _check_free(bind_host, bind_port)
        scheme = "https" if ssl else "http"
        click.echo(f"Phalanx serving on {scheme}://{bind_host}:{bind_port} (Ctrl-C stops); "
                   f"the dashboard: open {scheme}://{bind_host}:{bind_port}/ in a browser")
        # On SIGTERM or Ctrl-C, requests in flight get a few seconds to finish; connections that stay open (a
        # kept-alive TLS connection whose client does not close it would otherwise hold the server for ever)
        # are then closed. Background submissions are finished before the node closes.
        # Live streams never finish by themselves: they are ended at the signal, and their clients resume
        # (Last-Event-ID) on another process or after the restart.
        streams = node.streams

        class Server(uvicorn.Server):
            def handle_exit(self, sig: int, frame: Any) -> None:
                streams.stop()
                super().handle_exit(sig, frame)

        from ..federation import Federation

        federation = Federation(node)
        federation.start()  # follow the peers (docs/federation.md)
        node.webhooks.start()  # deliver the webhooks (docs/streams.md); node.close() stops it
        try:
            Server(uvicorn.Config(create_app(node), host=bind_host, port=bind_port, log_level="warning",
                                  timeout_graceful_shutdown=_GRACE_SECONDS, **ssl)).run()
        finally:
            federation.close()
