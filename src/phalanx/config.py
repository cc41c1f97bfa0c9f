"""Settings: one frozen object, built from the environment and an optional ``phalanx.toml`` in the home folder.

Nothing here runs at import. ``Settings.load()`` reads the file and the environment once; everything else
receives the ``Settings`` object it needs. Every setting is documented in docs/settings.md (a test checks).
"""

from __future__ import annotations

__all__ = ["SETTINGS", "Setting", "Settings"]

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .stix._tlp import Tlp


@dataclass(frozen=True, slots=True)
class Setting:
    """How one setting is read: its environment variable, its key in phalanx.toml, how to parse it."""

    field: str
    env: str
    parse: Callable[[str], Any]


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise ValueError("must be a positive whole number")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 < value < 65536:
        raise ValueError("must be a TCP port, 1-65535")
    return value


def _mode(text: str) -> str:
    if text not in ("strict", "tolerant"):
        raise ValueError("must be 'strict' or 'tolerant'")
    return text


def _workers(text: str) -> int:
    if text.strip().lower() == "auto":
        return -1
    value = int(text)
    if value < 0:
        raise ValueError("must be 'auto' or a whole number of processes (0: parse in the importing process)")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise ValueError("must be a positive number")
    return value


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be true or false")


def _warninglists(text: str) -> str:
    value = text.strip().lower()
    if value not in ("warn", "refuse", "off"):
        raise ValueError("must be 'warn', 'refuse' or 'off'")
    return value


def _subject(text: str) -> str:
    if not text or not all(c.isalnum() or c in "-_" for c in text):
        raise ValueError("must be letters, digits, '-' and '_' (a NATS subject token)")
    return text


def _tlp(text: str) -> Tlp:
    return Tlp.parse(text)


@dataclass(frozen=True, slots=True)
class Settings:
    home: Path = Path(".phalanx")
    database_url: str = ""
    """Empty means the embedded default: ``sqlite:///<home>/phalanx.db``."""
    host: str = "127.0.0.1"
    port: int = 8800
    max_document_bytes: int = 64 * 1024 * 1024
    max_depth: int = 64
    validation: str = "strict"
    default_tlp: Tlp = Tlp.AMBER
    batch_size: int = 2000
    page_size_max: int = 1000
    parse_workers: int = -1
    """Processes that parse large JSON-lines imports; -1 is "auto" (one per core but one), 0 parses inline."""
    tls_cert: str = ""
    tls_key: str = ""
    status_retention_days: float = 7.0
    require_signatures: bool = False
    """Refuse objects that carry no signature (unless the hub holds a custodial key for their organization)."""
    warninglists: str = "warn"
    """What ingest does with an indicator whose values are on a MISP warning list: 'warn' (accept it, with a
    warning naming the lists), 'refuse', or 'off' (do not check)."""
    ledger_origin: str = ""
    """The name of this node's log in its checkpoints; empty: ``phalanx.local/`` and a random suffix, chosen once."""
    ledger_hybrid: bool = False
    """Sign checkpoints with ML-DSA-44 as well as Ed25519 (applies when the node key is first made)."""
    bus_url: str = "memory://"
    """The event bus: ``memory://`` (one process) or ``nats://host:port`` (JetStream, for a hub of several
    processes)."""
    bus_subject: str = "phalanx"
    """The NATS subject prefix (one per hub sharing a NATS server)."""
    stream_heartbeat_seconds: float = 15.0
    stream_buffer: int = 10_000
    peer_default_tlp: Tlp = Tlp.AMBER_STRICT
    """The level of an object received from a peer node that carries no TLP marking (the sender's own default is
    unknown here): AMBER+STRICT keeps it for this node's own organization."""
    reconcile_seconds: float = 3600.0
    """How often a node compares each followed collection with its peer (range-based set reconciliation)."""
    """Messages a live-stream subscriber may have waiting before it is told it fell behind."""
    webhook_batch_size: int = 100
    """Events posted together to a webhook, at most."""
    webhook_max_attempts: int = 8
    """Attempts at one batch before it goes to the webhook's dead letters."""
    webhook_backoff_seconds: float = 1.0
    """The wait before the second attempt; it doubles after each failure (with jitter), up to the maximum."""
    webhook_backoff_max_seconds: float = 600.0
    webhook_timeout_seconds: float = 10.0
    """How long one POST may take to connect, and to each read of the answer."""
    sighting_k: int = 3
    """Sighting counts are shown to a member only when at least this many organizations besides its own are
    behind them (k-anonymity); below, "fewer than k"."""
    session_secret: str = ""
    """The key that signs the dashboard's session cookies; empty: a random key kept in ``<home>/session.key``
    (give every process of a hub the same one)."""
    session_hours: float = 12.0
    """How long a dashboard sign-in lasts."""

    @property
    def database(self) -> str:
        """The database URL in force."""
        return self.database_url or f"sqlite:///{(self.home / 'phalanx.db').resolve()}"

    @property
    def strict(self) -> bool:
        return self.validation == "strict"

    @classmethod
    def load(cls, home: Path | str | None = None, env: Mapping[str, str] | None = None) -> Settings:
        """Defaults, then ``<home>/phalanx.toml``, then ``PHALANX_*`` environment variables (last wins)."""
        environ = os.environ if env is None else env
        home_path = Path(home if home is not None else environ.get("PHALANX_HOME", ".phalanx"))
        values: dict[str, Any] = {}
        config_file = home_path / "phalanx.toml"
        if config_file.is_file():
            try:
                data = tomllib.loads(config_file.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise ConfigError(f"{config_file} is not valid TOML: {exc}") from exc
            known = {s.field: s for s in SETTINGS}
            for key, raw in data.items():
                if key not in known:
                    raise ConfigError(f"{config_file}: unknown setting {key!r}")
                values[key] = _parse(known[key], str(raw), f"{config_file}: {key}")
        for setting in SETTINGS:
            if setting.env in environ:
                values[setting.field] = _parse(setting, environ[setting.env], setting.env)
        values["home"] = home_path
        return replace(cls(), **values)


def _parse(setting: Setting, raw: str, where: str) -> Any:
    try:
        return setting.parse(raw)
    except ValueError as exc:
        raise ConfigError(f"{where}={raw!r}: {exc}") from exc


SETTINGS: tuple[Setting, ...] = (
    Setting("database_url", "PHALANX_DATABASE_URL", str),
    Setting("host", "PHALANX_HOST", str),
    Setting("port", "PHALANX_PORT", _port),
    Setting("max_document_bytes", "PHALANX_MAX_DOCUMENT_BYTES", _positive_int),
    Setting("max_depth", "PHALANX_MAX_DEPTH", _positive_int),
    Setting("validation", "PHALANX_VALIDATION", _mode),
    Setting("default_tlp", "PHALANX_DEFAULT_TLP", _tlp),
    Setting("batch_size", "PHALANX_BATCH_SIZE", _positive_int),
    Setting("page_size_max", "PHALANX_PAGE_SIZE_MAX", _positive_int),
    Setting("parse_workers", "PHALANX_PARSE_WORKERS", _workers),
    Setting("tls_cert", "PHALANX_TLS_CERT", str),
    Setting("tls_key", "PHALANX_TLS_KEY", str),
    Setting("status_retention_days", "PHALANX_STATUS_RETENTION_DAYS", _positive_float),
    Setting("require_signatures", "PHALANX_REQUIRE_SIGNATURES", _bool),
    Setting("warninglists", "PHALANX_WARNINGLISTS", _warninglists),
    Setting("ledger_origin", "PHALANX_LEDGER_ORIGIN", str),
    Setting("ledger_hybrid", "PHALANX_LEDGER_HYBRID", _bool),
    Setting("bus_url", "PHALANX_BUS_URL", str),
    Setting("bus_subject", "PHALANX_BUS_SUBJECT", _subject),
    Setting("stream_heartbeat_seconds", "PHALANX_STREAM_HEARTBEAT_SECONDS", _positive_float),
    Setting("stream_buffer", "PHALANX_STREAM_BUFFER", _positive_int),
    Setting("peer_default_tlp", "PHALANX_PEER_DEFAULT_TLP", _tlp),
    Setting("reconcile_seconds", "PHALANX_RECONCILE_SECONDS", _positive_float),
    Setting("webhook_batch_size", "PHALANX_WEBHOOK_BATCH_SIZE", _positive_int),
    Setting("webhook_max_attempts", "PHALANX_WEBHOOK_MAX_ATTEMPTS", _positive_int),
    Setting("webhook_backoff_seconds", "PHALANX_WEBHOOK_BACKOFF_SECONDS", _positive_float),
    Setting("webhook_backoff_max_seconds", "PHALANX_WEBHOOK_BACKOFF_MAX_SECONDS", _positive_float),
    Setting("webhook_timeout_seconds", "PHALANX_WEBHOOK_TIMEOUT_SECONDS", _positive_float),
    Setting("sighting_k", "PHALANX_SIGHTING_K", _positive_int),
    Setting("session_secret", "PHALANX_SESSION_SECRET", str),
    Setting("session_hours", "PHALANX_SESSION_HOURS", _positive_float),
)
