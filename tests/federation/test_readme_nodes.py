"""The README's three nodes work as written: its shell block runs (ports moved to free ones), the indicator
published on A shows up on C's live stream within a few seconds, and ``phalanx match`` fed by C catches it."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.federation.procs import free_port
from tests.support import ROOT

pytestmark = pytest.mark.slow


def script() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Three nodes, in real time"):text.index("## Documentation")]
    (block,) = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    return block


def test_the_readme_links_three_nodes_and_an_indicator_reaches_the_third(tmp_path: Path) -> None:
    block = script()
    for port in ("8801", "8802", "8803"):
        assert port in block
        block = block.replace(port, str(free_port()))
    (tmp_path / "docs").symlink_to(ROOT / "docs")
    out = tmp_path / "out.txt"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    with out.open("wb") as sink:
        shell = subprocess.Popen(["bash", "-e", "-c", block], cwd=tmp_path, stdout=sink, stderr=subprocess.STDOUT,
                                 env=env, start_new_session=True)
    try:
        assert shell.wait(timeout=120) == 0, out.read_text()
        deadline = time.monotonic() + 10
        while "indicator--6f0c2b1e-6a53-4f4e-9b9e-0f7b5a1c9d21" not in out.read_text():
            assert time.monotonic() < deadline, out.read_text()
            time.sleep(0.1)
        assert "received" in out.read_text()  # peer status
        # phalanx match, fed by C, caught the sender published on A
        assert ("line 1: email billing@contoso-water-invoices.example (from) matches "
                "indicator--6f0c2b1e-6a53-4f4e-9b9e-0f7b5a1c9d21 'Water SCADA phishing sender'") in out.read_text()
    finally:
        os.killpg(shell.pid, signal.SIGTERM)  # the three servers and the stream it left running
        time.sleep(1)
        with contextlib.suppress(ProcessLookupError):  # all gone already
            os.killpg(shell.pid, signal.SIGKILL)
