"""Talking to a peer node over its public interfaces: TAXII 2.1 for catch-up, the live stream (SSE) for low
latency, and its ledger (trust, checkpoints, consistency proofs, signing keys).

One small blocking client on ``http.client``: every request has a timeout; network errors, timeouts and 5xx
answers raise ``PeerUnavailable``, other refusals ``PeerRefused`` with the peer's own description.
"""

from __future__ import annotations

__all__ = ["LiveStream", "Page", "PeerClient"]

import contextlib
import http.client
import socket
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import orjson

from ..errors import ConfigError, PeerRefused, PeerUnavailable
from ..ledger._base64 import decode
from ..stix import format_micros, parse_micros
from ..streams._sse import Message, read_messages

_TAXII = "application/taxii+json;version=2.1"
_MAX_BODY = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Page:
    """One TAXII page of a peer's collection."""

    body: bytes
    """The TAXII envelope, as received."""
    more: bool
    next: str | None
    last_added: int | None
    """X-TAXII-Date-Added-Last (microseconds): where the next page starts."""


class PeerClient:
    def __init__(self, url: str, api_key: str, *, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
            raise ConfigError(f"{url!r} is not a peer URL", hint="Give the peer's base URL, e.g. http://host:8800.")
        self.url = url.rstrip("/")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._prefix = parts.path.rstrip("/")
        self._key = api_key
        self._timeout = timeout

    def _connect(self, timeout: float | None) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=timeout,
                                               context=ssl.create_default_context())
        return http.client.HTTPConnection(self._host, self._port, timeout=timeout)

    def _open(self, path: str, *, accept: str = "application/json", auth: bool = True,
              headers: dict[str, str] | None = None, timeout: float | None = None
              ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        sent = {"Accept": accept, "User-Agent": "phalanx-federation", **(headers or {})}
        if auth:
            sent["Authorization"] = f"Bearer {self._key}"
        conn = self._connect(self._timeout if timeout is None else timeout)
        try:
            conn.request("GET", self._prefix + path, headers=sent)
            response = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise PeerUnavailable(f"the peer {self.url} cannot be reached: {_reason(exc)}") from None
        if response.status >= 300:
            try:
                body = response.read(64 * 1024)
            except (OSError, http.client.HTTPException):
                body = b""
            conn.close()
            raise _refusal(self.url, path, response.status, body)
        return conn, response

    def _get(self, path: str, **options: Any) -> tuple[bytes, http.client.HTTPResponse]:
        conn, response = self._open(path, **options)
        try:
            body = response.read(_MAX_BODY + 1)
        except (OSError, http.client.HTTPException) as exc:
            raise PeerUnavailable(f"the peer {self.url} stopped answering: {_reason(exc)}") from None
        finally:
            conn.close()
        if len(body) > _MAX_BODY:
            raise PeerRefused(f"the peer {self.url} sent more than {_MAX_BODY} bytes for {path}")
        return body, response

    def _json(self, path: str, **options: Any) -> Any:
        body, _ = self._get(path, **options)
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            raise PeerRefused(f"the peer {self.url} answered {path} with something that is not JSON") from None

    # -- the JSON API and the ledger ----------------------------------------------------------------------

    def collections(self) -> list[dict[str, Any]]:
        """The collections this node's key may use on the peer."""
        answer = self._json("/api/v1/collections")
        found = answer.get("collections") if isinstance(answer, dict) else None
        if not isinstance(found, list) or not all(isinstance(c, dict) for c in found):
            raise PeerRefused(f"the peer {self.url} listed its collections in a form this node cannot read")
        return found

    def trust(self) -> dict[str, Any]:
        answer = self._json("/api/v1/ledger/trust", auth=False)
        if not isinstance(answer, dict):
            raise PeerRefused(f"the peer {self.url} sent a trust record this node cannot read")
        return answer

    def checkpoint(self) -> str:
        body, _ = self._get("/api/v1/ledger/checkpoint", accept="text/plain", auth=False)
        return body.decode("utf-8", "replace")

    def consistency(self, old: int, new: int) -> list[bytes]:
        answer = self._json(f"/api/v1/ledger/consistency?old={old}&new={new}", auth=False)
        hashes = answer.get("proof") if isinstance(answer, dict) else None
        if not isinstance(hashes, list) or not all(isinstance(h, str) for h in hashes):
            raise PeerRefused(f"the peer {self.url} sent a consistency proof this node cannot read")
        try:
            return [decode(h) for h in hashes]
        except ValueError as exc:
            raise PeerRefused(f"a hash of the peer's consistency proof {exc}") from None

    def keys(self) -> list[dict[str, Any]]:
        """The signing keys the peer published (key records)."""
        answer = self._json("/api/v1/ledger/keys")
        found = answer.get("keys") if isinstance(answer, dict) else None
        if not isinstance(found, list):
            raise PeerRefused(f"the peer {self.url} listed its signing keys in a form this node cannot read")
        return [k for k in found if isinstance(k, dict)]

    def _post(self, path: str, data: bytes, media_type: str) -> tuple[Any, int]:
        """POST ``data`` (of ``media_type``, which the answer is asked in too); the answer's JSON and its size."""
        conn = self._connect(self._timeout)
        try:
            conn.request("POST", self._prefix + path, body=data, headers={
                "Authorization": f"Bearer {self._key}", "Content-Type": media_type, "Accept": media_type,
                "User-Agent": "phalanx-federation"})
            response = conn.getresponse()
            answer = response.read(_MAX_BODY + 1)
        except (OSError, http.client.HTTPException) as exc:
            raise PeerUnavailable(f"the peer {self.url} cannot be reached: {_reason(exc)}") from None
        finally:
            conn.close()
        if response.status >= 300:
            raise _refusal(self.url, path, response.status, answer)
        try:
            return orjson.loads(answer), len(answer)
        except orjson.JSONDecodeError:
            raise PeerRefused(f"the peer {self.url} answered {path} with something that is not JSON") from None

    def post_json(self, path: str, body: dict[str, Any]) -> tuple[Any, int, int]:
        """POST ``body`` as JSON; the answer, and the bytes sent and received."""
        data = orjson.dumps(body)
        answer, received = self._post(path, data, "application/json")
        return answer, len(data), received

    def reconcile(self, collection: str, ranges: list[dict[str, Any]]) -> tuple[list[Any], int, int]:
        """One round of set reconciliation on a collection: the peer's answers, bytes sent and received."""
        answer, sent, received = self.post_json(
            f"/api/v1/collections/{quote(collection, safe='')}/reconcile", {"ranges": ranges})
        answers = answer.get("answers") if isinstance(answer, dict) else None
        if not isinstance(answers, list) or len(answers) != len(ranges):
            raise PeerRefused(f"the peer {self.url} answered a reconciliation round in a form this node cannot read")
        return answers, sent, received

    def added(self, collection: str, ids: list[str]) -> dict[tuple[str, int], int]:
        """When the peer added each version of these objects (its TAXII manifest): (id, version) -> date_added."""
        params = {"match[id]": ",".join(ids), "match[version]": "all", "limit": "1000"}
        path = f"/taxii2/api/collections/{quote(collection, safe='')}/manifest/?{urlencode(params)}"
        found, _ = self._json_taxii(path)
        records = found.get("objects") if isinstance(found, dict) else None
        added: dict[tuple[str, int], int] = {}
        for record in records if isinstance(records, list) else []:
            try:
                added[(str(record["id"]), parse_micros(record["version"]))] = parse_micros(record["date_added"])
            except (KeyError, TypeError, ValueError):
                continue  # a record this node cannot read dates nothing
        return added

    def versions_of(self, collection: str, ids: list[str]) -> bytes:
        """A TAXII envelope with every version of these objects in the collection (one page)."""
        params = {"match[id]": ",".join(ids), "match[version]": "all", "limit": "1000"}
        path = f"/taxii2/api/collections/{quote(collection, safe='')}/objects/?{urlencode(params)}"
        body, _ = self._get(path, accept=_TAXII)
        return body

    def push(self, collection: str, canonicals: list[bytes]) -> dict[str, Any]:
        """POST objects to a collection of the peer over TAXII 2.1; the status resource it answers (waited for
        when the peer stores them in the background)."""
        body = b'{"objects":[' + b",".join(canonicals) + b"]}"
        status, _ = self._post(f"/taxii2/api/collections/{quote(collection, safe='')}/objects/", body, _TAXII)
        deadline = time.monotonic() + 300
        while isinstance(status, dict) and status.get("status") == "pending" and time.monotonic() < deadline:
            time.sleep(0.2)
            status, _ = self._json_taxii(f"/taxii2/api/status/{quote(str(status.get('id')), safe='')}/")
        if not isinstance(status, dict) or status.get("status") != "complete":
            raise PeerUnavailable(f"the peer {self.url} did not finish storing what this node pushed")
        return status

    def _json_taxii(self, path: str) -> tuple[Any, int]:
        body, _ = self._get(path, accept=_TAXII)
        try:
            return orjson.loads(body), len(body)
        except orjson.JSONDecodeError:
            raise PeerRefused(f"the peer {self.url} answered {path} with something that is not JSON") from None

    # -- TAXII 2.1 ---------------------------------------------------------------------------------------

    def page(self, collection: str, *, added_after: int | None, next_token: str | None, limit: int,
             types: tuple[str, ...] = ()) -> Page:
        """One page of every version (of ``types``) in a collection added after ``added_after``."""
        params: dict[str, str] = {"match[version]": "all", "limit": str(limit)}
        if types:
            params["match[type]"] = ",".join(types)
        if added_after is not None:
            params["added_after"] = format_micros(added_after)
        if next_token is not None:
            params["next"] = next_token
        path = f"/taxii2/api/collections/{quote(collection, safe='')}/objects/?{urlencode(params)}"
        body, response = self._get(path, accept=_TAXII)
        try:
            envelope = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise PeerRefused(f"the peer {self.url} sent a TAXII page that is not JSON") from None
        if not isinstance(envelope, dict):
            raise PeerRefused(f"the peer {self.url} sent a TAXII page that is not an envelope")
        last = response.getheader("X-TAXII-Date-Added-Last")
        try:
            last_added = parse_micros(last) if last else None
        except ValueError:
            raise PeerRefused(f"the peer {self.url} sent X-TAXII-Date-Added-Last {last!r}") from None
        more = envelope.get("more") is True
        token = envelope.get("next")
        if more and not isinstance(token, str):
            raise PeerRefused(f"the peer {self.url} says there is more but gives no 'next'")
        return Page(body, more, token if more else None, last_added)

    # -- the live stream --------------------------------------------------------------------------------

    def stream(self, collections: list[str], *, last_event_id: int, idle: float,
               types: tuple[str, ...] = ()) -> LiveStream:
        """The peer's live stream of these collections (and ``types``) after ``last_event_id``. Reading it
        raises ``PeerUnavailable`` when nothing, not even a heartbeat, arrives for ``idle`` seconds, or the
        connection drops."""
        params = {"collection": ",".join(collections)} if collections else {}
        if types:
            params["type"] = ",".join(types)
        conn, response = self._open("/api/v1/stream?" + urlencode(params), accept="text/event-stream",
                                    timeout=idle, headers={"Last-Event-ID": str(last_event_id)})
        return LiveStream(self.url, conn, response)


class LiveStream:
    """An open live stream: iterate over its messages; ``close`` (from any thread) ends it."""

    def __init__(self, url: str, conn: http.client.HTTPConnection, response: http.client.HTTPResponse) -> None:
        self._url = url
        self._conn = conn
        self._response = response
        self._closed = False

    def __iter__(self) -> Iterator[Message]:
        try:
            yield from read_messages(self._lines())
        except ValueError as exc:
            raise PeerRefused(f"the live stream of {self._url} sent {exc}") from None

    def _lines(self) -> Iterator[bytes]:
        while True:
            try:
                line = self._response.readline(1024 * 1024 * 64)
            except (OSError, ValueError, AttributeError, http.client.HTTPException) as exc:
                if self._closed:
                    return
                raise PeerUnavailable(f"the live stream of {self._url} broke off: {_reason(exc)}") from None
            if not line:
                if self._closed:
                    return
                raise PeerUnavailable(f"the peer {self._url} closed its live stream")
            yield line

    def close(self) -> None:
        self._closed = True
        sock = self._conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed by the peer
                sock.shutdown(socket.SHUT_RDWR)  # wakes a reader blocked in another thread
        self._conn.close()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__


def _refusal(url: str, path: str, status: int, body: bytes) -> PeerRefused | PeerUnavailable:
    try:
        answer = orjson.loads(body)
        described = str(answer.get("description") or answer.get("title") or "") if isinstance(answer, dict) else ""
    except orjson.JSONDecodeError:
        described = ""
    text = f"the peer {url} answered {status} to {path.split('?')[0]}" + (f": {described}" if described else "")
    return PeerUnavailable(text) if status >= 500 else PeerRefused(text)
