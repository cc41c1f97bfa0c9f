"""`phalanx serve` as a real process: it listens, answers, and authenticates with real keys."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, key: str | None = None) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_demo_node_serves_its_objects(tmp_path: Path) -> None:
    home = tmp_path / "node"
    init = subprocess.run([sys.executable, "-m", "phalanx", "--home", str(home), "init", "--demo"],
                          capture_output=True, text=True, check=True)
    assert "refused" in init.stdout and ", 0 refused" in init.stdout
    key = next(line.split()[-1] for line in init.stdout.splitlines() if "contributor" in line and "phx_" in line)
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen([sys.executable, "-m", "phalanx", "--home", str(home), "serve", "--port", str(port)],
                              stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, body = get(f"{base}/health")
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, (tmp_path / "serve.log").read_text()
                assert time.monotonic() < deadline, "the server did not start within 30 s"
                time.sleep(0.2)
        assert status == 200 and body["status"] == "ok"
        assert get(f"{base}/api/v1/collections")[0] == 401
        status, body = get(f"{base}/api/v1/collections/energy-isac/objects?type=indicator&limit=5", key)
        assert status == 200
        objects = body["objects"]
        assert isinstance(objects, list) and len(objects) == 5 and body["more"] is True
        assert all(o["type"] == "indicator" for o in objects)
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
