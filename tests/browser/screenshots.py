"""Screenshots of every dashboard page, 1280 px wide, for the README and the docs.

    .venv/bin/python -m tests.browser.screenshots docs/screenshots

It builds the node of the browser tests in a temporary folder (the demo community of ``phalanx init --demo``,
people who sign in, an indicator sighted by three organizations and a report about it), links it to a peer node
so that the federation page has something to show, publishes a little more, and saves ``<page>-1280.png`` for
each page in the folder given (default: docs/screenshots; docs/dashboard.md shows them). It needs
/usr/bin/chromium (apt-get install chromium); it downloads nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

from phalanx.config import Settings
from phalanx.federation import Federation
from phalanx.identity import Actor, Role
from phalanx.service import Node
from phalanx.stix import Tlp
from tests.browser.chromium import CHROMIUM, TIMEOUT_MS, WIDE, launch, sign_in
from tests.browser.world import COMMUNITY, SIGHTED_VALUE, World, indicator, wait_for, world
from tests.streams.server import served

PAGES = {
    "signin": (None, "/signin"),
    "feed": ("alice", "/feed"),
    "search": ("alice", f"/search?q={SIGHTED_VALUE}"),
    "object": ("alice", "/objects/{indicator}"),
    "publish": ("alice", "/publish"),
    "community": ("alice", "/community"),
    "network": ("olga", "/network"),
    "admin": ("olga", "/admin"),
}
MAX_HEIGHT = 1800
"""A page taller than this is cut there: a README shows its top."""


def _more(site: World, stack: ExitStack, home: Path) -> None:
    """What makes the pages look lived in: a peer node that shares into the community, a TLP:RED indicator
    for Northwind from Contoso, a few more indicators and sightings."""
    peer_home = home / "peer"
    peer_home.mkdir(parents=True)
    peer = Node.open(Settings(home=peer_home, database_url=f"sqlite:///{peer_home / 'peer.db'}",
                              stream_heartbeat_seconds=1.0, warninglists="off"), upgrade=True)
    stack.callback(peer.close)
    peer.admin.add_community("isac", title="Water ISAC (west)")
    org = peer.admin.add_organization("Tailspin Water Authority", sectors=("water",))
    peer.admin.join("isac", org.id)
    url = stack.enter_context(served(peer))
    peer_federation = Federation(peer)
    stack.callback(peer_federation.close)
    federation = Federation(site.node)
    stack.callback(federation.close)
    secret, _ = peer_federation.invite("energy-hub")
    federation.add(url, secret, name="water-isac-west", community=COMMUNITY, home=site.alice.org.id)
    federation.start()
    shared = [indicator(f"update-{uuid.uuid4().hex[:6]}.tailspin-lookalike.example", kind="domain-name",
                        name="Look-alike domain of a water utility's portal", labels=["phishing"]),
              indicator(SIGHTED_VALUE, name=f"Scanner {SIGHTED_VALUE} probing SCADA gateways", labels=["scanning"])]
    results = peer.ingest.document(Actor(org.id, Role.CONTRIBUTOR), "isac", json.dumps(
        {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": shared}).encode())
    assert all(r.outcome == "accepted" for r in results), results
    site.share(site.bob, indicator("198.51.100.23", tlp=Tlp.RED, name="Contoso's incident: exfiltration host"),
               recipients=(site.alice.org,))
    site.share(site.alice, indicator("https://login.northwind-energy.example.net/sso", kind="url",
                                     name="Credential phishing page imitating Northwind SSO", labels=["phishing"],
                                     tlp=Tlp.AMBER))
    site.share(site.bob, indicator("44d88612fea8a8f36de82e1278abb02f", kind="file",
                                   name="Loader dropped on an HMI workstation", labels=["malware"]))
    wait_for(lambda: federation.status("water-isac-west").state.received >= len(shared), timeout=30,
             what="the peer's objects")


def take(folder: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    with tempfile.TemporaryDirectory() as temporary, ExitStack() as stack:
        home = Path(temporary)
        site = stack.enter_context(world(home / "hub", warninglists="off", sighting_k=2))
        _more(site, stack, home)
        with sync_playwright() as playwright:
            browser = launch(playwright)
            try:
                for name, (who, path) in PAGES.items():
                    context = browser.new_context(viewport=WIDE, device_scale_factor=1)  # type: ignore[arg-type]
                    context.set_default_timeout(TIMEOUT_MS)
                    page = context.new_page()
                    if who is not None:
                        sign_in(page, site.url, site.people[who])
                    response = page.goto(site.url + path.format(indicator=site.indicator["id"]))
                    if response is None or response.status != 200:
                        raise SystemExit(f"{path}: HTTP {None if response is None else response.status}")
                    if name == "feed":
                        page.wait_for_selector("table#feed[data-ready='1']", state="attached")
                        time.sleep(0.5)
                    height = min(MAX_HEIGHT, int(page.evaluate("() => document.documentElement.scrollHeight")))
                    target = folder / f"{name}-{WIDE['width']}.png"
                    page.screenshot(path=str(target), full_page=True,
                                    clip={"x": 0, "y": 0, "width": WIDE["width"], "height": height})
                    saved.append(target)
                    context.close()
            finally:
                browser.close()
    return saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.browser.screenshots", description=__doc__.split("\n")[0])
    parser.add_argument("folder", nargs="?", default="docs/screenshots", type=Path)
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"no Chromium at {CHROMIUM}: apt-get install -y chromium", file=sys.stderr)
        return 2
    for path in take(args.folder):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
