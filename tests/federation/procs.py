"""Phalanx nodes as real processes on loopback, each with its own home folder, port and database; a recording
TCP proxy to see what crosses the wire between two of them."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(home: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "phalanx", "--home", str(home), *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=120)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


class Proc:
    """One node: ``phalanx serve`` in a process of its own, which tests stop, kill and start again."""

    def __init__(self, home: Path, name: str, *, env: dict[str, str] | None = None, port: int | None = None) -> None:
        self.home = home
        self.name = name
        self.env = env or {}
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = home.parent / f"{name}.log"

    def init(self, *, org: str) -> str:
        """Make the node with a community 'isac', an organization and a contributor key (returned)."""
        cli(self.home, "init", env=self.env)
        cli(self.home, "community", "add", "isac", env=self.env)
        cli(self.home, "org", "add", org, env=self.env)
        cli(self.home, "community", "join", "isac", org, env=self.env)
        return cli(self.home, "key", "create", "--org", org, "--role", "contributor", env=self.env).strip()

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "phalanx", "--home", str(self.home), "serve", "--port", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PHALANX_STREAM_HEARTBEAT_SECONDS": "1",
                                                           **self.env})
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2):
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                assert self.process.poll() is None, self.log.read_text()
                assert time.monotonic() < deadline, f"{self.name} did not start within 30 s"
                time.sleep(0.1)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def post(self, key: str, objects: list[dict[str, object]], *, recipients: str = "") -> None:
        body = json.dumps({"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
                           "objects": objects}).encode()
        query = f"?recipients={urllib.parse.quote(recipients)}" if recipients else ""
        request = urllib.request.Request(f"{self.url}/api/v1/collections/isac/objects{query}", data=body,
                                         method="POST",
                                         headers={"Authorization": f"Bearer {key}",
                                                  "Content-Type": "application/json"})
        deadline = time.monotonic() + 30
        while True:  # a node killed mid-request, or down, takes the post again when it is back (it is idempotent)
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    answer = json.loads(response.read())
                break
            except urllib.error.HTTPError:
                raise
            except (urllib.error.URLError, http.client.HTTPException, ConnectionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert answer["refused"] == 0, answer

    def ids(self, key: str) -> list[str]:
        """Every object id (all versions) in collection 'isac', as the key may see them, in TAXII order."""
        found: list[str] = []
        token = None
        while True:
            query = "match[version]=all&limit=1000" + (f"&next={token}" if token else "")
            request = urllib.request.Request(f"{self.url}/taxii2/api/collections/isac/objects/?{query}",
                                             headers={"Authorization": f"Bearer {key}",
                                                      "Accept": "application/taxii+json;version=2.1"})
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    page = json.loads(response.read())
            except urllib.error.HTTPError as exc:
                if exc.code == 404:  # the collection is made when the first object of its peer arrives
                    return found
                raise
            found += [o["id"] for o in page.get("objects", [])]
            if not page.get("more"):
                return found
            token = page["next"]


class Recorder:
    """A TCP proxy on loopback that forwards to ``target_port`` and keeps every byte sent back to the client."""

    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._target = target_port
        self._lock = threading.Lock()
        self._received = bytearray()
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._server.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def received(self) -> bytes:
        with self._lock:
            return bytes(self._received)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self._target))
            except OSError:
                client.close()
                continue
            threading.Thread(target=self._pipe, args=(client, upstream, None), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, self._keep), daemon=True).start()

    def _keep(self, data: bytes) -> None:
        with self._lock:
            self._received += data

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket, keep: Callable[[bytes], None] | None) -> None:
        try:
            while data := source.recv(65536):
                if keep is not None:
                    keep(data)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):  # the other direction closed it first
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

    def close(self) -> None:
        self._stop.set()
        self._server.close()
        self._thread.join(timeout=5)
