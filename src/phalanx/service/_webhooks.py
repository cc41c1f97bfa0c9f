"""Webhooks: an organization's subscriptions to what it may see, POSTed to a URL of its own as it is shared.

A webhook belongs to one organization and receives what that organization's members may read (the sharing
policy, compiled into the store's query), narrowed by the same filters as the live stream. Its org-admins and
contributors make and manage it (node administrators any); all its people and tools may see it, its delivery
log and its dead letters. To anyone else it does not exist (``NotFound``, as for an unknown id). The CLI acts
as the node's operator (``by=None``).

The secret that signs the payloads is made here and shown once, at creation; it is kept in the database, since
the node needs it to sign. Delivering is ``Dispatcher``'s job (``_webhook_dispatch``).
"""

from __future__ import annotations

__all__ = ["WebhookView", "Webhooks"]

import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from ..config import Settings
from ..errors import InvalidParameter, NotFound
from ..identity import Actor, Directory, Organization, Role
from ..policy import may_manage_webhook, may_see_webhook, require
from ..stix import now_micros
from ..store import Attempt, Batch, WebhookRecord
from ..store import Webhooks as WebhookStorage
from ..store._webhooks import no_webhook
from ..streams._feed import Feed
from ..streams._sse import StreamFilter
from ..streams._webhook import HttpPoster, Poster, check_target
from ._read import Reader
from ._webhook_dispatch import Dispatcher

_STIX_TYPE = re.compile(r"[a-z0-9][a-z0-9-]{0,249}")
MAX_LIST = 1000
_ANYTHING = StreamFilter()


@dataclass(frozen=True, slots=True)
class WebhookView:
    """A webhook as its organization sees it (never its secret)."""

    id: str
    org_id: str
    url: str
    created: int
    filter: StreamFilter
    """Its filters; ``filter.collections`` holds collection ids (empty: every collection the organization may
    read)."""
    active: bool
    cursor: int
    """The ``date_added`` of the last change it handled."""
    pending: Batch | None
    """The batch being delivered (being retried, when ``pending.attempts`` > 0)."""


class Webhooks:
    def __init__(self, storage: WebhookStorage, directory: Directory, reader: Reader, feed: Feed,
                 settings: Settings, clock: Callable[[], int], *, poster: Poster | None = None) -> None:
        self._storage = storage
        self._directory = directory
        self._reader = reader
        self._clock = clock
        self.dispatcher = Dispatcher(storage, reader, feed, settings,
                                     poster or HttpPoster(timeout=settings.webhook_timeout_seconds), now_micros)

    # -- delivering -------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Deliver in the background (``phalanx serve`` calls it)."""
        self.dispatcher.start()

    def run_once(self) -> int:
        """One delivery step for every webhook, on this thread; the number of POSTs made."""
        return self.dispatcher.run_once()

    def close(self) -> None:
        self.dispatcher.close()

    # -- managing ---------------------------------------------------------------------------------------------

    def create(self, url: str, *, org: str | None = None, wanted: StreamFilter = _ANYTHING,
               cursor: int | None = None, by: Actor | None = None) -> tuple[WebhookView, str]:
        """A new webhook of ``org`` (default: the caller's), and its secret (show it once). It starts after
        ``cursor`` (a ``date_added``; 0: everything there is), by default now. ``wanted.collections`` are ids or
        titles of collections the organization may read."""
        organization = self._organization(org if org is not None or by is None else by.org_id, by)
        if by is not None:
            require(may_manage_webhook(by, owner=organization.id))
        record = WebhookRecord(str(uuid.uuid4()), organization.id, check_target(url),
                               "whsec_" + secrets.token_urlsafe(32), self._clock(),
                               *self._checked(organization, wanted))
        if cursor is not None and (isinstance(cursor, bool) or not isinstance(cursor, int) or cursor < 0):
            raise InvalidParameter(f"cursor {cursor!r} must be an event id (a whole number; 0 for everything)")
        self._storage.add(record, cursor=now_micros() if cursor is None else cursor)
        self.dispatcher.wake(record.id)
        return self._view(record), record.secret

    def all(self, *, org: str | None = None, by: Actor | None = None) -> list[WebhookView]:
        """The webhooks (of ``org``) the caller may see: its organization's; every one for the operator and
        node administrators."""
        org_id = None if org is None else self._organization(org, by).id
        if by is not None and by.role is not Role.ADMIN:
            require(may_see_webhook(by, owner=by.org_id))
            org_id = by.org_id
        return [self._view(record) for record in self._storage.all(org_id)]

    def get(self, webhook_id: str, *, by: Actor | None = None) -> WebhookView:
        return self._view(self._visible(webhook_id, by))

    def delete(self, webhook_id: str, *, by: Actor | None = None) -> None:
        self._storage.remove(self._managed(webhook_id, by).id)

    def pause(self, webhook_id: str, *, by: Actor | None = None) -> WebhookView:
        """Stop delivering (a pending batch waits); ``resume`` goes on from where it stopped, nothing lost."""
        record = self._managed(webhook_id, by)
        self._storage.set_active(record.id, False)
        return self._view(record)

    def resume(self, webhook_id: str, *, by: Actor | None = None) -> WebhookView:
        record = self._managed(webhook_id, by)
        self._storage.set_active(record.id, True)
        self.dispatcher.wake(record.id)
        return self._view(record)

    def deliveries(self, webhook_id: str, *, limit: int = 100, by: Actor | None = None) -> list[Attempt]:
        """The latest delivery attempts, newest first."""
        return self._storage.deliveries(self._visible(webhook_id, by).id, _limit(limit))

    def dead_letters(self, webhook_id: str, *, limit: int = 100, by: Actor | None = None) -> list[Batch]:
        """The batches that failed ``webhook_max_attempts`` times, newest first."""
        return self._storage.dead_letters(self._visible(webhook_id, by).id, _limit(limit))

    def redeliver(self, webhook_id: str, delivery: str, *, by: Actor | None = None) -> Attempt:
        """POST dead letter ``delivery`` again, now (same delivery id, same events, a new signature): delivered,
        it leaves the dead letters; failed, it stays. The attempt is logged either way."""
        record = self._managed(webhook_id, by)
        return self.dispatcher.redeliver(record, self._storage.dead_letter(record.id, delivery))

    # -- checks -----------------------------------------------------------------------------------------------

    def _organization(self, ref: str | None, by: Actor | None) -> Organization:
        """The organization ``ref``; for a caller other than the operator and node administrators, only its own
        (another organization gets the same answer as an unknown one)."""
        if ref is None:
            raise NotFound("a webhook needs an organization", hint="Pass --org NAME (or the organization's id).")
        try:
            organization = self._directory.get_organization(ref)
        except NotFound:
            organization = None
        if organization is None or (by is not None and by.role is not Role.ADMIN and organization.id != by.org_id):
            raise NotFound(f"no organization {ref!r}" + ("" if by is None else " that you act for"),
                           hint="Leave the organization out: your webhooks are for your own organization."
                           if by is not None else "'phalanx org list' shows the organizations.")
        return organization

    def _checked(self, organization: Organization, wanted: StreamFilter
                 ) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], int | None]:
        """The filters, checked: collections the organization may read (as ids), STIX type names, labels, and a
        confidence from 0 to 100."""
        reader = Actor(organization.id, Role.READER)
        collections: list[str] = []
        for ref in wanted.collections:
            cid = self._reader.readable(reader, ref).collection.id
            if cid not in collections:
                collections.append(cid)
        for stix_type in wanted.types:
            if not _STIX_TYPE.fullmatch(stix_type):
                raise InvalidParameter(f"type {stix_type!r} is not a STIX type name (e.g. indicator, malware)")
        for label in wanted.labels:
            if not label or len(label) > 250:
                raise InvalidParameter("a label must be 1 to 250 characters")
        confidence = wanted.min_confidence
        if confidence is not None and (isinstance(confidence, bool) or not isinstance(confidence, int)
                                       or not 0 <= confidence <= 100):
            raise InvalidParameter(f"min_confidence {confidence!r} must be a whole number from 0 to 100")
        return tuple(collections), tuple(dict.fromkeys(wanted.types)), tuple(dict.fromkeys(wanted.labels)), confidence

    def _visible(self, webhook_id: str, by: Actor | None) -> WebhookRecord:
        try:
            record = self._storage.get(webhook_id)
        except NotFound:
            record = None
        if record is None or (by is not None and not may_see_webhook(by, owner=record.org_id).allowed):
            raise no_webhook(webhook_id)
        return record

    def _managed(self, webhook_id: str, by: Actor | None) -> WebhookRecord:
        record = self._visible(webhook_id, by)
        if by is not None:
            require(may_manage_webhook(by, owner=record.org_id))
        return record

    def _view(self, record: WebhookRecord) -> WebhookView:
        state = self._storage.state(record.id)
        return WebhookView(record.id, record.org_id, record.url, record.created,
                           StreamFilter(record.collections, record.types, record.labels, record.min_confidence),
                           state.active, state.cursor, state.pending)


def _limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIST:
        raise InvalidParameter(f"limit {limit!r} must be a whole number from 1 to {MAX_LIST}")
    return limit
