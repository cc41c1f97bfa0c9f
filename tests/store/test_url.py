"""redact_url: database URLs in messages never show a password."""

from __future__ import annotations

import pytest

from phalanx.errors import ConfigError, StoreUnavailable
from phalanx.store import open_backend, redact_url
from phalanx.store._postgres import PostgresEngine

SECRET = "s3cretpw"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://postgres:s3cretpw@127.0.0.1:5432/test", "postgresql://postgres:***@127.0.0.1:5432/test"),
        ("postgres://u:s3cretpw@db.example:5432/phalanx?schema=x", "postgres://u:***@db.example:5432/phalanx?schema=x"),
        ("postgresql://u:p@s3cretpw@h/db", "postgresql://u:***@h/db"),  # a raw '@' in the password
        ("postgresql://:s3cretpw@h/db", "postgresql://:***@h/db"),
        ("postgresql://u@h/db?password=s3cretpw", "postgresql://u@h/db?password=***"),
        (
            "postgresql://u:s3cretpw@h/db?sslmode=require&password=s3cretpw&schema=a",
            "postgresql://u:***@h/db?sslmode=require&password=***&schema=a",
        ),
        ("postgresql://u@h/db?PASSWORD=s3cretpw#x", "postgresql://u@h/db?PASSWORD=***#x"),
        ("host=h password=s3cretpw dbname=x", "host=h password=*** dbname=x"),
        ("host=h password='s3cret pw' dbname=x", "host=h password=*** dbname=x"),
        ("mysql://root:s3cretpw@h/db", "mysql://root:***@h/db"),
    ],
)
def test_passwords_are_hidden(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert redact_url(shown) == shown  # idempotent


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres@127.0.0.1:5432/test",
        "postgresql://postgres@127.0.0.1:5432/test?schema=phx&connect_timeout=3",
        "postgresql:///test",
        "postgresql://h1:5432,h2:5433/db?target_session_attrs=read-write",
        "sqlite:///phalanx.db",
        "sqlite:////var/lib/phalanx/db@v2:blue.db?synchronous=full",
        "memory://",
        "memory:",
        "",
    ],
)
def test_urls_without_password_are_unchanged(url: str) -> None:
    assert redact_url(url) == url


def _messages(exc: BaseException | None) -> str:
    """Every message in the exception and what it was raised from."""
    out = []
    while exc is not None:
        out.append(str(exc))
        exc = exc.__cause__ or exc.__context__
    return "\n".join(out)


def test_unreachable_postgres_does_not_show_the_password() -> None:
    url = f"postgresql://nobody:{SECRET}@127.0.0.1:1/none?connect_timeout=1&password={SECRET}"
    engine = PostgresEngine(url, timeout=1.5)
    with pytest.raises(StoreUnavailable) as info:
        engine.open()
    assert "nobody:***@127.0.0.1:1" in info.value.message
    assert SECRET not in info.value.diagnostics() and SECRET not in _messages(info.value)


@pytest.mark.parametrize("url", [f"mysql://root:{SECRET}@h/db", f"sqlite://u:{SECRET}@h"])
def test_bad_urls_do_not_show_the_password(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        open_backend(url)
    assert "***" in info.value.message and SECRET not in info.value.diagnostics()
