"""The dashboard in a real browser: Debian's Chromium (``/usr/bin/chromium``) driven by Playwright, against the
node of ``tests/browser/world.py`` served by uvicorn on a loopback port (the app ``phalanx serve`` runs).

Nothing here downloads a browser. Without ``/usr/bin/chromium`` (or without the playwright package) the tests
are skipped, unless ``PHALANX_REQUIRE_BROWSER=1`` (CI sets it): then that is a failure.

Each call of ``tab(...)`` opens a page in a new browser context, that is an independent session (its own
cookies): two tabs signed in as two people are two organizations watching at once. A tab records what the page
logs, the script errors it throws and the dialogs it opens, to assert on.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.chromium import CHROMIUM, TIMEOUT_MS, VIEWPORTS, WIDE, Opener, Tab, launch, sign_in
from tests.browser.world import World, world
from tests.support import cheap_password_hashing

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Dialog


def _unavailable(reason: str) -> None:
    if os.environ.get("PHALANX_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason}, and PHALANX_REQUIRE_BROWSER=1 (install it: apt-get install -y chromium)")
    pytest.skip(f"{reason} (apt-get install -y chromium; set PHALANX_REQUIRE_BROWSER=1 to make this a failure)")


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        _unavailable(f"no Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        launched = launch(playwright)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="package")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The served node; shared by every browser test (each one makes objects of its own, with values of its own)."""
    with cheap_password_hashing(), world(tmp_path_factory.mktemp("dashboard") / "home", warninglists="off") as built:
        yield built




class Sessions:
    """The cookies of a session of each person, who signs in through the form the first time one is asked for
    (later tabs start from them: a password is checked once per person, not once per test)."""

    def __init__(self, browser: Browser, site: World) -> None:
        self._browser = browser
        self._site = site
        self._states: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._states:
            person = self._site.people[name]
            context = self._browser.new_context(viewport=WIDE)  # type: ignore[arg-type]
            try:
                page = context.new_page()
                page.set_default_timeout(TIMEOUT_MS)
                sign_in(page, self._site.url, person)
                self._states[name] = context.storage_state()
            finally:
                context.close()
        return self._states[name]


@pytest.fixture(scope="package")
def sessions(browser: Browser, site: World) -> Sessions:
    return Sessions(browser, site)


@pytest.fixture
def tab(browser: Browser, site: World, sessions: Sessions) -> Iterator[Opener]:
    """``tab(person_name=None, width=1280)``: a page in a new browser context (signed in as the person)."""
    contexts: list[BrowserContext] = []

    def open_tab(person: str | None = None, *, width: int = 1280) -> Tab:
        context = browser.new_context(viewport=VIEWPORTS[width],  # type: ignore[arg-type]
                                      storage_state=sessions[person] if person else None)
        contexts.append(context)
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        page = context.new_page()
        opened = Tab(page, site.url)

        def on_console(message: ConsoleMessage) -> None:
            opened.console.append((message.type, message.text, str(message.location.get("url", ""))))

        def on_dialog(dialog: Dialog) -> None:
            opened.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        page.on("console", on_console)
        page.on("pageerror", lambda error: opened.errors.append(str(error)))
        page.on("dialog", on_dialog)
        return opened

    yield open_tab
    for context in contexts:
        context.close()
