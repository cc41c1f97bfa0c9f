"""phalanx match: a member's telemetry against the community's indicators (docs/detection.md)."""

from __future__ import annotations

__all__ = ["match"]

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from ..analysis import warning_flags
from ..errors import InvalidParameter, PeerRefused, UnreadableInput
from ..matching._detector import Detector, Match
from ..matching._extract import FORMATS, Record, extractor, guess_format, parse_fields
from ..matching._follow import Progress, read_lines
from ..matching._follow import follow as follow_log
from ..matching._run import Run
from ..matching._tally import Seen
from ..stix import format_micros
from ._base import State, pass_state


def _format_of(path: Path | None, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    if path is None:
        raise InvalidParameter("reading standard input needs --format", hint="Add --format jsonl|zeek|csv|text|stix.")
    try:
        with path.open("rb") as handle:
            head = handle.read(65536)
    except OSError as exc:
        raise UnreadableInput(f"cannot read {path}: {exc.strerror or exc}") from None
    return guess_format(path.name, head)


@contextlib.contextmanager
def _stopping() -> Iterator[threading.Event]:
    """An event set by SIGINT/SIGTERM, so that a followed log stops cleanly (the last sightings reported)."""
    stop = threading.Event()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    if threading.current_thread() is threading.main_thread():
        for sig in previous:
            signal.signal(sig, lambda *_: stop.set())
    try:
        yield stop
    finally:
        if threading.current_thread() is threading.main_thread():
            for sig, handler in previous.items():
                signal.signal(sig, handler)


@click.command("match")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--follow", "-f", is_flag=True, help="Keep reading FILE as it grows (like tail -F; rotation too).")
@click.option("--from-end", is_flag=True, help="With --follow: only lines written from now on.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="auto", show_default=True,
              help="The telemetry's format (auto: from the name and the first lines).")
@click.option("--field", "fields", multiple=True, metavar="NAME[=KIND]",
              help="A JSON field (dotted for nested) or CSV column to read, with its kind (ipv4, ipv6, ip, domain, "
                   "url, email, md5, sha1, sha256, sha512, hash). Default: every value whose kind is clear.")
@click.option("--url", default=None, help="Your hub: match against what it shares with --key (the telemetry "
                                          "stays on this machine). Without it: the node in --home.")
@click.option("--key", "api_key", default=None, envvar="PHALANX_KEY", help="Your API key (env PHALANX_KEY).")
@click.option("--org", default=None, help="Without --url: match as this organization of the node in --home "
                                          "(default: every indicator, as the node's operator).")
@click.option("--sightings", "report", is_flag=True,
              help="Report matched indicators as sightings (one per indicator every --report-every seconds).")
@click.option("--anonymous", is_flag=True, help="With --sightings: other members never learn they were yours.")
@click.option("--report-every", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              help="Seconds between two sighting reports.")
@click.option("--lookback", type=click.FloatRange(min=0), default=600.0, show_default=True,
              help="With --follow and --url: seconds of records kept, matched at once against indicators shared "
                   "later (0: none).")
@click.option("--flagged", is_flag=True, help="Also alert on indicators whose values are on a warning list.")
@click.option("--json", "as_json", is_flag=True, help="Print each match as a JSON line.")
@click.option("--progress/--no-progress", default=None,
              help="A progress bar on standard error (default: when it is a terminal and not following).")
@pass_state
def match(state: State, files: tuple[Path, ...], follow: bool, from_end: bool, fmt: str, fields: tuple[str, ...],
          url: str | None, api_key: str | None, org: str | None, report: bool, anonymous: bool,
          report_every: float, lookback: float, flagged: bool, as_json: bool, progress: bool | None) -> None:
    """Match telemetry (FILES, or - for standard input) against the community's indicators.

    Reads JSON-lines logs, Zeek conn/dns/http/ssl/files logs, CSV, plain lists of observables (IP addresses,
    domains, URLs, e-mail addresses, file hashes) and STIX observed-data. Prints one line per match: the
    indicator, who shared it, and the line that matched. With --follow, new lines and newly shared indicators
    are matched as they arrive."""
    if not files:
        raise click.UsageError("give a file to read (or - for standard input)")
    if follow and (len(files) != 1 or str(files[0]) == "-"):
        raise click.UsageError("--follow reads exactly one file")
    if anonymous and not report:
        raise click.UsageError("--anonymous is about reported sightings: add --sightings")
    named = parse_fields(fields)
    runs: list[Run] = []  # the run in progress: indicators arriving from the hub look back over its records
    with _stopping() as stop, _matcher(state, url, api_key, org, flagged, report, anonymous, stop, runs) as (
            matcher, reporter):
        for path in files:
            source = None if str(path) == "-" else path
            chosen = _format_of(source, fmt)
            meter = Progress()
            show = progress if progress is not None else (not follow and source is not None and sys.stderr.isatty())
            run = Run(matcher, extractor(chosen, named, name=path.name), as_json=as_json, reporter=reporter,
                      report_every=report_every, progress=meter, progress_out=sys.stderr if show else None,
                      batch=1 if follow else 512, lookback=lookback if follow else 0.0)
            runs[:] = [run]
            if source is None:
                run(sys.stdin.buffer, stop)
            elif follow:
                run(follow_log(source, stop, from_end=from_end, progress=meter), stop)
            else:
                run(read_lines(source, meter), stop)
            if run.stats.unreadable:
                click.echo(f"{path}: {run.stats.unreadable} unreadable lines (first: {run.stats.first_problem})",
                           err=True)
            if run.report_problem:
                click.echo(f"sightings could not all be reported: {run.report_problem}", err=True)
            click.echo(f"{path}: {run.stats.lines:,} lines, {run.stats.records:,} observables, "
                       f"{run.matches:,} matches" + (f", {run.reported} sightings reported" if reporter else ""),
                       err=True)


@contextlib.contextmanager
def _matcher(state: State, url: str | None, api_key: str | None, org: str | None, flagged: bool, report: bool,
             anonymous: bool, stop: threading.Event, runs: list[Run]) -> Iterator[tuple[Any, Any]]:
    if url is not None:
        yield from _remote(url, api_key, org, flagged, report, anonymous, stop, runs)
    else:
        yield from _local(state, org, flagged, report, anonymous)


def _remote(url: str, api_key: str | None, org: str | None, flagged: bool, report: bool, anonymous: bool,
            stop: threading.Event, runs: list[Run]) -> Iterator[tuple[Any, Any]]:
    from ..federation._client import PeerClient
    from ..matching._remote import HubFeed

    if api_key is None:
        raise click.UsageError("--url needs --key (or PHALANX_KEY): your API key on that hub")
    if org is not None:
        raise click.UsageError("--org is for the node in --home; with --url, your key says who you are")
    client = PeerClient(url, api_key)
    flagger = warning_flags
    detector = Detector(flagger=flagger, alert_flagged=flagged)

    def arrived(indicator: Mapping[str, Any]) -> None:  # on the feed's thread
        alone = Detector(flagger=flagger, alert_flagged=flagged)
        alone.offer(indicator)
        for run in list(runs):
            run.look_back(indicator, alone.match)

    feed = HubFeed(client, detector, on_indicator=arrived)
    feed.start()
    try:
        while not feed.ready.wait(0.2):
            if stop.is_set():
                raise click.Abort()
            if isinstance(feed.error, PeerRefused):
                break
        if isinstance(feed.error, PeerRefused):
            raise PeerRefused(feed.error.message, hint="Check --url (your hub's address) and --key (an API key of "
                                                       "your organization on that hub, env PHALANX_KEY).")
        click.echo(f"matching against {len(detector):,} indicators from {url} (following it live)", err=True)

        def reporter(seen: list[Seen]) -> None:
            for item in seen:
                client.post_json("/api/v1/sightings", _sighting_body(item, anonymous))

        yield detector.match, (reporter if report else None)
    finally:
        feed.close()


def _sighting_body(item: Seen, anonymous: bool) -> dict[str, Any]:
    return {"indicator": item.indicator_id, "kind": "seen", "count": item.count,
            "first_seen": format_micros(item.first_seen), "last_seen": format_micros(item.last_seen),
            "anonymous": anonymous}


def _local(state: State, org: str | None, flagged: bool, report: bool, anonymous: bool
           ) -> Iterator[tuple[Any, Any]]:
    from ..identity import Actor, Role

    if report and org is None:
        raise click.UsageError("--sightings needs --org: the organization that saw them")
    with state.node() as node:
        actor = None
        if org is not None:
            actor = Actor(node.admin.organization(org).id, Role.CONTRIBUTOR)
        size = node.matching.size()
        click.echo(f"matching against {size:,} indicators of the node in {node.settings.home}", err=True)

        def matcher(records: Sequence[Record]) -> list[Match]:
            return node.matching.match(actor, records, flagged=flagged)

        def reporter(seen: list[Seen]) -> None:
            assert actor is not None
            for item in seen:
                node.sightings.record(actor, item.indicator_id, count=item.count, first_seen=item.first_seen,
                                      last_seen=item.last_seen, anonymous=anonymous)

        yield matcher, (reporter if report else None)
