"""Docs that cannot go stale: every command, setting and endpoint is documented."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import Mount, Route

from phalanx.cli._reference import cli_reference
from phalanx.config import SETTINGS, Settings
from phalanx.service import Node
from phalanx.web import create_app
from phalanx.web.ui import dashboard_routes

ROOT = Path(__file__).resolve().parents[1]


def test_cli_reference_is_current() -> None:
    current = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert current == cli_reference(), "run: python -m phalanx.cli._reference docs/cli.md"


def test_every_setting_is_documented() -> None:
    text = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    for setting in SETTINGS:
        assert f"`{setting.field}`" in text, setting.field
        assert f"`{setting.env}`" in text, setting.env


def test_every_endpoint_is_documented() -> None:
    """The API's in docs/api.md, the dashboard's pages in docs/dashboard.md."""
    api = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    dashboard = (ROOT / "docs" / "dashboard.md").read_text(encoding="utf-8")
    node = Node.open(Settings(database_url="memory://"), upgrade=True)
    try:
        routes = [r for r in create_app(node).routes if isinstance(r, Route)]
        pages = {r.path for r in dashboard_routes(node)}
    finally:
        node.close()
    assert routes
    for route in routes:
        text = dashboard if route.path in pages else api
        for method in sorted((route.methods or set()) - {"HEAD"}):
            assert f"`{method} {route.path}`" in text, (method, route.path)


def test_every_taxii_endpoint_is_documented() -> None:
    text = (ROOT / "docs" / "taxii.md").read_text(encoding="utf-8")
    node = Node.open(Settings(database_url="memory://"), upgrade=True)
    try:
        (mount,) = [r for r in create_app(node).routes if isinstance(r, Mount) and r.path == "/taxii2"]
        routes = [r for r in mount.routes if isinstance(r, Route) and r.path.endswith("/")]
    finally:
        node.close()
    assert len(routes) == 9
    for route in routes:
        for method in sorted((route.methods or set()) - {"HEAD"}):
            assert f"`{method} {mount.path}{route.path}`" in text, (method, route.path)


def test_readme_shows_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make demo" in text and "make test" in text
