"""phalanx import | export | stats | db: moving objects in and out, and looking after the database."""

from __future__ import annotations

__all__ = ["db", "export", "import_", "stats"]

import contextlib
import gzip
import sys
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, cast

import click

from ..errors import Error, UnreadableInput
from ..identity import Actor, Role
from ..ledger import PrivateKey
from ..service import IngestSummary, Node, Sharing
from ..stix import Mode, Parsed, iter_jsonl, parse_document, parse_jsonl_parallel, parse_micros
from ..stix._json import dumps
from ..store import Query, VersionFilter
from ._base import PhalanxGroup, State, pass_state
from ._ledger_cmds import signed_objects

_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")
_PARALLEL_BYTES = 16 * 1024 * 1024  # below this, starting worker processes costs more than it saves


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


_TOLERANT_RULES = ("[custom-type]", "[custom-property]", "[custom-extension]", "[spec-version]")


def _report_refusals(summary: IngestSummary, limit: int, tolerant: bool) -> None:
    shown = summary.refusals if limit == 0 else summary.refusals[:limit]
    for r in shown:
        click.echo(f"  refused #{r.index + 1} {r.id or '<no id>'}: {r.detail}", err=True)
    hidden = summary.refused - len(shown)
    if hidden > 0:
        click.echo(f"  ... and {hidden} more refused (--show-refused 0 lists them all)", err=True)
    custom = sum(any(rule in r.detail for rule in _TOLERANT_RULES) for r in summary.refusals)
    if custom and not tolerant:
        counted = "the" if len(summary.refusals) == summary.refused else f"the first {len(summary.refusals)}"
        click.echo(f"  hint: {custom} of {counted} refusals are custom content or STIX 2.0; if you trust this feed, "
                   "import it with --tolerant", err=True)


@click.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--collection", "collection_ref", default=None,
              help="Collection (title or id) to share into; default: the only collection.")
@click.option("--org", "organization", required=True, help="The contributing organization (name or id).")
@click.option("--tolerant", is_flag=True, help="Accept custom properties and x- types (real feeds, ATT&CK).")
@click.option("--recipients", "recipients", multiple=True,
              help="Share TLP:AMBER and RED objects only with these organizations of the community (names or ids; "
                   "repeat, or separate with commas).")
@click.option("--people", "people", multiple=True,
              help="Name these people (usernames) as recipients of TLP:RED objects (repeat, or a,b).")
@click.option("--show-refused", default=20, show_default=True, type=click.IntRange(min=0),
              help="How many refused objects to list per file (0: all).")
@click.option("--log-batches", is_flag=True, help="Print a line each time a batch is committed (durable).")
@click.option("--sign", "sign_with", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Sign every object with this key file (the organization's) before it is stored.")
@pass_state
def import_(state: State, files: tuple[Path, ...], collection_ref: str | None, organization: str,
            tolerant: bool, recipients: tuple[str, ...], people: tuple[str, ...], show_refused: int,
            log_batches: bool, sign_with: Path | None) -> None:
    """Import STIX 2.1 bundles or JSON lines (.jsonl; .gz is read too) from FILES.

    Objects are validated one by one and stored in batches; a batch is durable once committed. Refused
    objects are listed with their reason; a file that cannot be read at all is reported and the next file
    imported. Importing the same file again is safe: what is stored already counts as a duplicate.
    Exit status: 0 when every object was accepted, 2 when some were refused, 1 when a file failed.
    """
    refused = failed = False
    key = None
    if sign_with is not None:
        try:
            key = PrivateKey.from_file(sign_with.read_bytes())
        except OSError as exc:
            raise UnreadableInput(f"cannot read the key file {sign_with}: {exc}") from exc
    with state.node() as node:
        org_ = node.admin.organization(organization)
        # The operator shares on behalf of a member: the policy checks it like any contributor.
        actor = Actor(org_.id, Role.CONTRIBUTOR)
        collection = node.admin.collection(collection_ref) if collection_ref else node.admin.default_collection()
        sharing = node.ingest.authorize(actor, collection.id, organizations=_split(recipients),
                                        people=_split(people), tolerant=tolerant)
        mode = Mode.TOLERANT if tolerant else Mode.STRICT
        for path in files:
            try:
                summary = _import_file(node, sharing, path, mode, log_batches,
                                       None if show_refused == 0 else max(show_refused, 1000), key)
            except Error as exc:
                click.echo(f"error: {path}: {exc.message}", err=True)
                click.echo(f"  what to do: {exc.hint}", err=True)
                failed = True
                continue
            click.echo(f"{path}: {summary.accepted} accepted ({summary.added} new), {summary.refused} refused")
            if summary.flagged:
                click.echo(f"  {summary.flagged} indicator(s) alert on values MISP warning lists name as usually "
                           "benign (setting warninglists; docs/detection.md#warning-lists)")
            _report_refusals(summary, show_refused, tolerant)
            refused = refused or summary.refused > 0
    if failed or refused:
        sys.exit(1 if failed else 2)


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())


def _import_file(node: Node, sharing: Sharing, path: Path, mode: Mode, log_batches: bool, keep: int | None,
                 key: PrivateKey | None = None) -> IngestSummary:
    try:
        return _read_and_ingest(node, sharing, path, mode, log_batches, keep, key)
    except (OSError, EOFError, zlib.error) as exc:
        raise UnreadableInput(
            f"cannot read the file: {exc}",
            hint="Fix or replace the file and import it again: what was already imported is skipped as duplicates.",
        ) from exc


def _read_and_ingest(node: Node, sharing: Sharing, path: Path, mode: Mode, log_batches: bool, keep: int | None,
                     key: PrivateKey | None) -> IngestSummary:
    limits = node.ingest.limits()
    show_bar = sys.stderr.isatty() and not log_batches

    def log_batch(summary: IngestSummary, last: int) -> None:
        if log_batches:
            click.echo(f"committed batch {summary.batches}: {last + 1} objects read, "
                       f"{summary.accepted} accepted, {summary.refused} refused so far", err=True)

    if path.name.endswith(_JSONL_SUFFIXES):
        size = path.stat().st_size
        workers = node.settings.parse_workers
        with _open(path) as stream, contextlib.ExitStack() as cleanup:
            lines = _Counting(stream)
            if workers > 0 or (workers < 0 and size >= _PARALLEL_BYTES):
                # closing(): if the import stops early, the worker processes stop too, at once.
                parsed: Iterator[Parsed] = cleanup.enter_context(contextlib.closing(parse_jsonl_parallel(
                    lines, mode=mode, limits=limits, workers=None if workers < 0 else workers)))
            else:
                parsed = iter_jsonl(lines, mode=mode, limits=limits)
            if key is not None:
                parsed = signed_objects(parsed, key, mode, limits)
            if not show_bar or size < 4 * 1024 * 1024:
                return node.ingest.stream_shared(sharing, parsed, on_batch=log_batch, keep_refusals=keep)
            with click.progressbar(length=size, label=path.name, file=sys.stderr) as bar:
                return node.ingest.stream_shared(sharing, parsed, keep_refusals=keep,
                                                 on_batch=lambda summary, last: bar.update(lines.read - bar.pos))
    with _open(path) as stream:
        data = stream.read(limits.max_bytes + 1)
    items = parse_document(data, mode=mode, limits=limits)
    if key is not None:
        items = list(signed_objects(items, key, mode, limits))
    if not show_bar or len(items) < 10 * node.settings.batch_size:
        return node.ingest.stream_shared(sharing, items, on_batch=log_batch, keep_refusals=keep)
    with click.progressbar(length=len(items), label=path.name, file=sys.stderr) as bar:
        return node.ingest.stream_shared(sharing, items, keep_refusals=keep,
                                         on_batch=lambda summary, last: bar.update(last + 1 - bar.pos))


@click.command()
@click.option("--collection", "collection_ref", default=None, help="Only this collection (title or id).")
@click.option("--type", "types", multiple=True,
              help="Only these STIX types (repeat, or separate with commas: indicator,malware).")
@click.option("--added-after", default=None, help="Only versions added after this timestamp (RFC 3339).")
@click.option("--all-versions", is_flag=True, help="Every version, not only the latest of each object.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of standard output.")
@click.option("--key", "api_key", default=None, envvar="PHALANX_KEY",
              help="Export only what this API key may see (env PHALANX_KEY); default: everything (the operator).")
@pass_state
def export(state: State, collection_ref: str | None, types: tuple[str, ...], added_after: str | None,
           all_versions: bool, output: Path | None, api_key: str | None) -> None:
    """Export the objects matching a filter as one STIX 2.1 bundle.

    With --key, the export is what that key's organization may see, with the same policy as TAXII (parts of
    objects marked beyond its reach removed); without, everything the node holds."""
    after = None
    if added_after:
        try:
            after = parse_micros(added_after)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--added-after") from None
    with state.node() as node:
        actor = node.admin.authenticate(api_key) if api_key else None
        if actor is None:
            collection = node.admin.collection(collection_ref).id if collection_ref else None
        else:
            collection = node.reader.readable(actor, collection_ref).collection.id if collection_ref else None
        wanted = tuple(t.strip() for value in types for t in value.split(",") if t.strip())
        query = Query(collection=collection, types=wanted, added_after=after, limit=1000,
                      versions=(VersionFilter.ALL,) if all_versions else (VersionFilter.LAST,))
        sink = output.open("wb") if output else sys.stdout.buffer
        try:
            sink.write(b'{"type":"bundle","id":' + dumps(f"bundle--{uuid.uuid4()}") + b',"objects":[')
            count = 0
            for item in node.reader.export(query, actor=actor):
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
            "versions_per_collection": {titles.get(k, k): v for k, v in sorted(s.collections.items())},
            "versions_per_type": dict(sorted(s.types.items())),
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


@db.command("reindex")
@pass_state
def db_reindex(state: State) -> None:
    """Compute the correlation keys and search terms of every stored object version again (docs/correlation.md,
    docs/dashboard.md): after an upgrade, for the versions stored before the database kept them."""
    shown = [0]

    def progress(done: int) -> None:
        if done >= shown[0] + 100_000:
            shown[0] = done
            click.echo(f"  {done:,} versions", err=True)

    with state.node() as node:
        count = node.correlation.reindex(progress=progress)
        shown[0] = 0
        node.search.reindex(progress=progress)
    click.echo(f"reindexed {count:,} versions")
