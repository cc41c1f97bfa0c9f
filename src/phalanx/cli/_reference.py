"""docs/cli.md, generated from the commands' own ``--help`` (``python -m phalanx.cli._reference``)."""

from __future__ import annotations

__all__ = ["cli_reference"]

import sys
from collections.abc import Iterator
from pathlib import Path

import click


def _walk(command: click.Command, path: list[str]) -> Iterator[tuple[list[str], click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            yield from _walk(command.commands[name], [*path, name])


def cli_reference() -> str:
    """The CLI reference in Markdown: one section per command, its help text verbatim."""
    from . import cli

    parts = [
        "# The `phalanx` command\n",
        "Generated from `--help` by `python -m phalanx.cli._reference > docs/cli.md`; "
        "tests/cli/test_docs.py fails when this file is out of date.\n",
    ]
    for path, command in _walk(cli, ["phalanx"]):
        with click.Context(command, info_name=" ".join(path), terminal_width=100, max_content_width=100) as ctx:
            text = command.get_help(ctx)
        parts.append(f"## `{' '.join(path)}`\n\n```text\n{text}\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    text = cli_reference()
    if target:
        target.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
