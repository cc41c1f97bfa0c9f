"""phalanx webhook: organizations' webhooks, their delivery logs and dead letters (docs/streams.md)."""

from __future__ import annotations

__all__ = ["webhook"]

import click

from ..service._webhooks import WebhookView
from ..stix import format_micros
from ..store import Attempt, Outcome
from ..streams._sse import StreamFilter
from ._base import PhalanxGroup, State, echo_json, pass_state


@click.group(cls=PhalanxGroup)
def webhook() -> None:
    """Webhooks: what an organization may see, POSTed to its URL as it is shared (signed, retried)."""


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())


def _describe(view: WebhookView) -> str:
    wanted = view.filter
    parts = [f"organization {view.org_id}", "active" if view.active else "paused",
             f"after event {view.cursor}"]
    for name, values in (("collections", wanted.collections), ("types", wanted.types), ("labels", wanted.labels)):
        if values:
            parts.append(f"{name} {','.join(values)}")
    if wanted.min_confidence is not None:
        parts.append(f"confidence >= {wanted.min_confidence}")
    if view.pending is not None and view.pending.attempts:
        parts.append(f"retrying {view.pending.delivery} ({view.pending.attempts} failed: {view.pending.last_error})")
    return f"{view.id}  {view.url}  ({'; '.join(parts)})"


def _attempt(a: Attempt) -> str:
    answer = str(a.status) if a.status is not None else "-"
    error = f"  {a.error}" if a.error else ""
    return (f"{format_micros(a.at)}  {a.delivery}  #{a.attempt}  {a.events} events ({a.first}..{a.last})  "
            f"{answer}  {a.duration / 1000:.0f} ms  {a.outcome.value}{error}")


@webhook.command("add")
@click.argument("url")
@click.option("--org", "organization", required=True, help="The organization it delivers to (name or id).")
@click.option("--collection", "collections", multiple=True,
              help="Only these collections (title or id; repeat, or a,b). Default: every one it may read.")
@click.option("--type", "types", multiple=True, help="Only these STIX types (repeat, or indicator,malware).")
@click.option("--label", "labels", multiple=True, help="Only objects carrying one of these labels.")
@click.option("--min-confidence", type=int, default=None, help="Only objects with at least this confidence.")
@click.option("--from-event", "from_event", type=click.IntRange(min=0), default=None,
              help="Deliver what came after this event id (0: everything stored). Default: from now on.")
@pass_state
def webhook_add(state: State, url: str, organization: str, collections: tuple[str, ...], types: tuple[str, ...],
                labels: tuple[str, ...], min_confidence: int | None, from_event: int | None) -> None:
    """POST what organization --org may see to URL, as it is shared. Prints the secret that signs the payloads
    once: give it to the receiver."""
    wanted = StreamFilter(_split(collections), _split(types), _split(labels), min_confidence)
    with state.node() as node:
        view, secret = node.webhooks.create(url, org=organization, wanted=wanted, cursor=from_event)
    click.echo(secret)
    click.echo(f"(webhook {view.id}; the secret is shown once: give it to the receiver now)", err=True)


@webhook.command("list")
@click.option("--org", "organization", default=None, help="Only this organization's webhooks.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of lines.")
@pass_state
def webhook_list(state: State, organization: str | None, as_json: bool) -> None:
    """List webhooks (never their secrets)."""
    from ..web._webhooks import webhook_json

    with state.node() as node:
        views = node.webhooks.all(org=organization)
    if as_json:
        echo_json([webhook_json(v) for v in views])
        return
    for view in views:
        click.echo(_describe(view))


@webhook.command("remove")
@click.argument("webhook_id")
@pass_state
def webhook_remove(state: State, webhook_id: str) -> None:
    """Remove webhook WEBHOOK_ID, its delivery log and its dead letters."""
    with state.node() as node:
        node.webhooks.delete(webhook_id)
    click.echo(f"removed webhook {webhook_id}")


@webhook.command("pause")
@click.argument("webhook_id")
@pass_state
def webhook_pause(state: State, webhook_id: str) -> None:
    """Stop delivering to WEBHOOK_ID; 'resume' goes on from where it stopped, nothing lost."""
    with state.node() as node:
        click.echo(_describe(node.webhooks.pause(webhook_id)))


@webhook.command("resume")
@click.argument("webhook_id")
@pass_state
def webhook_resume(state: State, webhook_id: str) -> None:
    """Deliver to WEBHOOK_ID again, from where it stopped."""
    with state.node() as node:
        click.echo(_describe(node.webhooks.resume(webhook_id)))


@webhook.command("deliveries")
@click.argument("webhook_id")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="The latest N attempts.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of lines.")
@pass_state
def webhook_deliveries(state: State, webhook_id: str, limit: int, as_json: bool) -> None:
    """The delivery log of WEBHOOK_ID, newest first: one line per attempt (when, delivery id, attempt, events,
    HTTP status, duration, outcome, error)."""
    from ..web._webhooks import attempt_json

    with state.node() as node:
        attempts = node.webhooks.deliveries(webhook_id, limit=limit)
    if as_json:
        echo_json([attempt_json(a) for a in attempts])
        return
    for a in attempts:
        click.echo(_attempt(a))


@webhook.command("dead-letters")
@click.argument("webhook_id")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="The latest N.")
@pass_state
def webhook_dead_letters(state: State, webhook_id: str, limit: int) -> None:
    """The batches that failed every attempt, newest first ('redeliver' sends one again)."""
    with state.node() as node:
        letters = node.webhooks.dead_letters(webhook_id, limit=limit)
    for d in letters:
        click.echo(f"{d.delivery}  {d.events} events ({d.first}..{d.last})  {d.attempts} attempts, last "
                   f"{format_micros(d.updated) if d.updated else '-'}: {d.last_error}")


@webhook.command("redeliver")
@click.argument("webhook_id")
@click.argument("delivery")
@pass_state
def webhook_redeliver(state: State, webhook_id: str, delivery: str) -> None:
    """POST dead letter DELIVERY of WEBHOOK_ID again, now (delivered, it leaves the dead letters)."""
    with state.node() as node:
        attempt = node.webhooks.redeliver(webhook_id, delivery)
    click.echo(_attempt(attempt))
    if attempt.outcome is not Outcome.DELIVERED:
        raise click.ClickException(f"not delivered: {attempt.error}")
