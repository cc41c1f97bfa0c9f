"""`phalanx user add --password-stdin` and `phalanx user password`, on a real SQLite node."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from phalanx.cli import cli
from phalanx.config import Settings
from phalanx.errors import AuthenticationError
from phalanx.identity import Role
from phalanx.service import Node

GOOD = "correct horse battery staple"


def run(home: Path, *args: str, input: str | None = None, ok: bool = True) -> Result:
    result = CliRunner().invoke(cli, ["--home", str(home), *args], input=input, catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output + result.stderr
    return result


def signs_in(home: Path, username: str, password: str) -> Role | None:
    """The role ``username`` signs in with, None when refused."""
    with Node.open(Settings.load(home)) as node:
        try:
            return node.admin.sign_in(username, password).role
        except AuthenticationError:
            return None


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "node"
    run(home, "init")
    run(home, "org", "add", "ACME CERT")
    return home


def test_user_add_with_a_password_from_stdin(home: Path) -> None:
    added = run(home, "user", "add", "alice", "--org", "ACME CERT", "--role", "contributor", "--password-stdin",
                input=GOOD + "\n")
    assert "added user 'alice' (contributor)" in added.stdout and "with a password" in added.stdout
    assert GOOD not in added.output
    assert signs_in(home, "alice", GOOD) is Role.CONTRIBUTOR  # the final line break is not part of it
    assert signs_in(home, "alice", GOOD + "\n") is None


def test_user_add_without_a_password_cannot_sign_in(home: Path) -> None:
    added = run(home, "user", "add", "bob", "--org", "ACME CERT")
    assert "with a password" not in added.stdout
    assert signs_in(home, "bob", "") is None


def test_user_add_refuses_a_weak_password_and_adds_no_one(home: Path) -> None:
    weak = run(home, "user", "add", "alice", "--org", "ACME CERT", "--password-stdin", input="alice2024!!!!\n",
               ok=False)
    assert weak.exit_code == 1 and "contains the user name" in weak.stderr and "what to do:" in weak.stderr
    assert "alice" not in run(home, "user", "list").stdout


def test_user_password_asks_twice_unseen(home: Path) -> None:
    run(home, "user", "add", "alice", "--org", "ACME CERT", "--role", "org-admin")
    # a weak one is asked again, saying why; then the two entries must match
    changed = run(home, "user", "password", "alice", input=f"too short\n{GOOD}\n{GOOD}!\n{GOOD}\n{GOOD}\n")
    assert "at least 12" in changed.output and "do not match" in changed.output
    assert "set the password of user 'alice'" in changed.stdout
    assert GOOD not in changed.output  # hidden input is not echoed
    assert signs_in(home, "alice", GOOD) is Role.ORG_ADMIN


def test_user_password_from_stdin(home: Path) -> None:
    run(home, "user", "add", "alice", "--org", "ACME CERT", "--password-stdin", input=GOOD)
    run(home, "user", "password", "alice", "--password-stdin", input="a whole new password\r\n")
    assert signs_in(home, "alice", GOOD) is None
    assert signs_in(home, "alice", "a whole new password") is Role.READER
    weak = run(home, "user", "password", "alice", "--password-stdin", input="short\n", ok=False)
    assert weak.exit_code == 1 and "at least 12" in weak.stderr
    assert signs_in(home, "alice", "a whole new password") is Role.READER


def test_user_password_of_an_unknown_user_asks_nothing(home: Path) -> None:
    result = run(home, "user", "password", "nobody", ok=False)
    assert result.exit_code == 1 and "no user 'nobody'" in result.stderr and "password" not in result.stdout
