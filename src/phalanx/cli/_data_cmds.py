"""phalanx import | export | stats | db: moving objects in and out, and looking after the database."""

from __future__ import annotations

__all__ = ["db", "export", "import_", "stats"]

import gzip
import sys
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, cast

import click

from ..errors import UnreadableInput
from ..identity import Actor, Role
from ..service import IngestSummary, Node, ObjectResult
from ..stix import Mode, Parsed, iter_jsonl, parse_document, parse_micros
from ..stix._json import dumps
from ..store import Query, VersionFilter
from ._base import PhalanxGroup, State, pass_state

_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")


def _open(path: Path) -> IO[bytes]:
    if path.suffix == ".gz":
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


class _Counting:
    """Lines of a binary file, counting the bytes read (for the progress bar)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.read = 0

    def __iter__(self) -> Iterator[bytes]:
        for line in self._stream:
            self.read += len(line)
            yield line


def _report_refusals(refusals: list[ObjectResult], total: int, limit: int = 20) -> None:
    for r in refusals[:limit]:
        click.echo(f"  refused #{r.index} {r.id or '<no id>'}: {r.detail}", err=True)
    if total > limit:
        click.echo(f"  ... and {total - limit} more refused", err=True)


@click.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--collection", "collection_ref", default=None,
              help="Collection (title or id) to share into; default: the only collection.")
@click.option("--org", "organization", required=True, help="The contributing organization (name or id).")
@click.option("--tolerant", is_flag=True, help="Accept custom properties and x- types (real feeds, ATT&CK).")
@pass_state
def import_(state: State, files: tuple[Path, ...], collection_ref: str | None, organization: str,
            tolerant: bool) -> None:
    """Import STIX 2.1 bundles or JSON lines (.jsonl; .gz is read too) from FILES.

    Objects are validated one by one and stored in batches; a batch is durable once reported. Refused
    objects are listed with their reason. Exit status: 0 when every object was accepted, 2 when some were
    refused, 1 on an error that stopped the import.
    """
    any_refused = False
    with state.node() as node:
        org_ = node.admin.organization(organization)
        # The operator shares on behalf of a member: the policy checks it like any contributor.
        actor = Actor(org_.id, Role.CONTRIBUTOR)
        collection = node.admin.collection(collection_ref) if collection_ref else node.admin.default_collection()
        mode = Mode.TOLERANT if tolerant else Mode.STRICT
        for path in files:
            summary = _import_file(node, actor, collection.id, path, mode)
            click.echo(f"{path}: {summary.accepted} accepted ({summary.added} new), {summary.refused} refused")
            _report_refusals(summary.refusals, summary.refused)
            any_refused = any_refused or summary.refused > 0
    if any_refused:
        sys.exit(2)


def _import_file(node: Node, actor: Actor, collection_id: str, path: Path, mode: Mode) -> IngestSummary:
    try:
        return _read_and_ingest(node, actor, collection_id, path, mode)
    except (OSError, EOFError, zlib.error) as exc:
        raise UnreadableInput(
            f"cannot read {path}: {exc}",
            hint="Fix or replace the file and import it again: what was already imported is skipped as duplicates.",
        ) from exc


def _read_and_ingest(node: Node, actor: Actor, collection_id: str, path: Path, mode: Mode) -> IngestSummary:
    limits = node.ingest.limits()
    interactive = sys.stderr.isatty()

    def log_batch(summary: IngestSummary, last: int) -> None:
        if not interactive:
            click.echo(f"committed batch {summary.batches}: through object {last}, "
                       f"{summary.accepted} accepted, {summary.refused} refused", err=True)

    if path.name.endswith(_JSONL_SUFFIXES):
        size = path.stat().st_size
        with _open(path) as stream:
            lines = _Counting(stream)
            parsed: Iterator[Parsed] = iter_jsonl(lines, mode=mode, limits=limits)
            if not interactive:
                return node.ingest.stream(actor, collection_id, parsed, on_batch=log_batch)
            with click.progressbar(length=size, label=path.name, file=sys.stderr) as bar:
                def advance(summary: IngestSummary, last: int) -> None:
                    bar.update(lines.read - bar.pos)

                return node.ingest.stream(actor, collection_id, parsed, on_batch=advance)
    with _open(path) as stream:
        data = stream.read(limits.max_bytes + 1)
    items = parse_document(data, mode=mode, limits=limits)
    if not interactive or len(items) < 10 * node.settings.batch_size:
        return node.ingest.stream(actor, collection_id, items, on_batch=log_batch)
    with click.progressbar(length=len(items), label=path.name, file=sys.stderr) as bar:
        return node.ingest.stream(actor, collection_id, items,
                                  on_batch=lambda summary, last: bar.update(last + 1 - bar.pos))


@click.command()
@click.option("--collection", "collection_ref", default=None, help="Only this collection (title or id).")
@click.option("--type", "types", multiple=True, help="Only this STIX type (repeatable).")
@click.option("--added-after", default=None, help="Only versions added after this timestamp (RFC 3339).")
@click.option("--all-versions", is_flag=True, help="Every version, not only the latest of each object.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of standard output.")
@pass_state
def export(state: State, collection_ref: str | None, types: tuple[str, ...], added_after: str | None,
           all_versions: bool, output: Path | None) -> None:
    """Export the objects matching a filter as one STIX 2.1 bundle."""
    after = None
    if added_after:
        try:
            after = parse_micros(added_after)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--added-after") from None
    with state.node() as node:
        collection = node.admin.collection(collection_ref).id if collection_ref else None
        query = Query(collection=collection, types=types, added_after=after, limit=1000,
                      versions=(VersionFilter.ALL,) if all_versions else (VersionFilter.LAST,))
        sink = output.open("wb") if output else sys.stdout.buffer
        try:
            sink.write(b'{"type":"bundle","id":' + dumps(f"bundle--{uuid.uuid4()}") + b',"objects":[')
            count = 0
            for item in node.reader.export(query):
                sink.write((b",\n" if count else b"\n") + item.canonical)
                count += 1
            sink.write(b"\n]}\n")
        finally:
            if output:
                sink.close()
    if output:
        click.echo(f"exported {count} objects to {output}", err=True)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def stats(state: State, as_json: bool) -> None:
    """Counts: objects, versions, per collection and per type; organizations, communities, keys."""
    with state.node() as node:
        s = node.reader.stats()
        titles = {c.id: c.title for c in node.admin.collections()}
        report = {
            "database": node.settings.database.split("://")[0],
            "objects": s.objects,
            "versions": s.versions,
            "collections": {titles.get(k, k): v for k, v in sorted(s.collections.items())},
            "types": dict(sorted(s.types.items())),
            "organizations": len(node.admin.organizations()),
            "communities": len(node.admin.communities()),
            "users": len(node.admin.users()),
            "api_keys": len([k for k in node.admin.api_keys() if k.revoked is None]),
        }
    if as_json:
        click.echo(dumps(report).decode())
        return
    for name, value in report.items():
        if isinstance(value, dict):
            click.echo(f"{name}:")
            for k, v in value.items():
                click.echo(f"  {k}: {v}")
        else:
            click.echo(f"{name}: {value}")


@click.group(cls=PhalanxGroup)
def db() -> None:
    """The database: schema migrations."""


@db.command("upgrade")
@pass_state
def db_upgrade(state: State) -> None:
    """Apply pending schema migrations (safe to run again)."""
    from ..store import open_backend

    with open_backend(state.settings().database) as backend:
        applied = backend.upgrade()
        version = backend.schema_version()
    click.echo(f"applied {', '.join(applied)}" if applied else "nothing to apply")
    click.echo(f"schema version {version}")
