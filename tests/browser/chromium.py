"""Debian's Chromium, driven by Playwright's Python package: how the browser tests and the screenshot script
launch it (never downloading a browser) and sign a person in through the dashboard's form."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright, Response

    from tests.browser.world import Person

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-quic", "--no-first-run", "--disable-sync"]
WIDE = {"width": 1280, "height": 800}
NARROW = {"width": 390, "height": 844}
VIEWPORTS = {1280: WIDE, 390: NARROW}
TIMEOUT_MS = 8000
"""The longest any one browser action or wait may take."""
ARTIFACTS = Path(__file__).parent / "artifacts"
"""Where the tests leave their screenshots (ignored by git)."""
_CSP_REFUSAL = re.compile(r"violates the following Content Security Policy directive:? ['\"]"
                          r"(script-src|script-src-elem|script-src-attr|default-src)")


def launch(playwright: Playwright) -> Browser:
    """Headless ``/usr/bin/chromium`` (Playwright's own browsers are never used, so never downloaded)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS,
                                      timeout=30_000)


def sign_in(page: Page, base: str, person: Person) -> None:
    """Sign ``person`` in on ``page`` with the user name and password form; it lands on the live feed."""
    page.goto(base + "/signin")
    form = page.locator("form:has(input[name=username])")
    form.locator("input[name=username]").fill(person.username)
    form.locator("input[name=password]").fill(person.password)
    form.locator("button[type=submit]").click()
    page.wait_for_url(base + "/feed")


@dataclass
class Tab:
    """A page of its own browser context, and what happened in it."""

    page: Page
    base: str
    console: list[tuple[str, str, str]] = field(default_factory=list)
    """(type, text, url of the script or resource) of every console message."""
    errors: list[str] = field(default_factory=list)
    """Uncaught script errors."""
    dialogs: list[str] = field(default_factory=list)

    def go(self, path: str) -> Response:
        response = self.page.goto(self.base + path, wait_until="load")
        assert response is not None, path
        return response

    def text(self, selector: str = "main") -> str:
        return self.page.inner_text(selector)

    def blocked(self) -> list[str]:
        """The console's reports of scripts the Content-Security-Policy refused to run (attacks it stopped)."""
        return [text for kind, text, _ in self.console if kind == "error" and _CSP_REFUSAL.search(text)]

    def problems(self, *, expected_status: tuple[int, ...] = ()) -> list[str]:
        """Script errors, and console errors other than blocked scripts: an error of our own script, a style
        the policy refused, a resource that failed (except a status in ``expected_status``, for a page
        visited to get it, and a favicon)."""
        found = [f"uncaught: {e}" for e in self.errors]
        for kind, text, url in self.console:
            if kind != "error" or _CSP_REFUSAL.search(text):
                continue
            if "favicon.ico" in url:
                continue
            status = re.search(r"status of (\d{3})", text)
            if status and int(status.group(1)) in expected_status and "Failed to load resource" in text:
                continue
            found.append(f"console {kind}: {text} ({url})")
        return found

    def pwned(self) -> Any:
        return self.page.evaluate("() => window.__pwned")


Opener = Callable[..., Tab]
"""``tab(person=None, *, width=1280)``: a page in a new browser context (the ``tab`` fixture)."""
