"""`phalanx serve` as a real process: it listens, answers, and authenticates with real keys."""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest


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


def test_serves_https_when_a_certificate_is_configured(tmp_path: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    home = tmp_path / "node"
    subprocess.run([sys.executable, "-m", "phalanx", "--home", str(home), "init"], check=True, capture_output=True)
    port = free_port()
    env = dict(os.environ, PHALANX_TLS_CERT=str(cert), PHALANX_TLS_KEY=str(key))
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen([sys.executable, "-m", "phalanx", "--home", str(home), "serve", "--port", str(port)],
                              stdout=log, stderr=subprocess.STDOUT, env=env)
    context = ssl.create_default_context(cafile=str(cert))
    left_open: list[urllib.error.HTTPError] = []
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"https://127.0.0.1:{port}/health", context=context, timeout=5) as r:
                    assert r.status == 200 and json.loads(r.read())["status"] == "ok"
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, (tmp_path / "serve.log").read_text()
                assert time.monotonic() < deadline, "the server did not start within 30 s"
                time.sleep(0.2)
        assert "https://" in (tmp_path / "serve.log").read_text()
        # TAXII 2.1 over the same TLS: the discovery answers (401 without credentials, as a TAXII error). The
        # answer is left unclosed: a kept-alive TLS connection must not stop the server from stopping (below).
        taxii = urllib.request.Request(f"https://127.0.0.1:{port}/taxii2/",
                                       headers={"Accept": "application/taxii+json;version=2.1"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(taxii, context=context, timeout=5)
        left_open.append(refused.value)
        assert refused.value.code == 401 and refused.value.headers["Content-Type"].startswith("application/taxii")
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5)  # plain HTTP is not spoken
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
        for response in left_open:
            response.close()
