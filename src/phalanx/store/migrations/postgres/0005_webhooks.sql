-- Webhooks (phalanx.service's Webhooks): organizations' durable subscriptions, their batches, their delivery log.
--
-- webhooks.record is the webhook's settings (JSON: url, secret, filters); cursor_added is the date_added of the
-- last change it handled; runner/lease_until is the lease of the one process delivering it.
-- webhook_batches holds each webhook's pending batch (dead = 0, at most one) and its dead letters (dead = 1).

CREATE TABLE webhooks (
    id            TEXT     PRIMARY KEY,
    org_id        TEXT     NOT NULL,
    record        TEXT     NOT NULL,
    created       BIGINT   NOT NULL,
    active        INTEGER  NOT NULL DEFAULT 1,
    cursor_added  BIGINT   NOT NULL,
    runner        TEXT,
    lease_until   BIGINT   NOT NULL DEFAULT 0
);
CREATE INDEX webhooks_org ON webhooks (org_id, created);

CREATE TABLE webhook_batches (
    id            BIGSERIAL PRIMARY KEY,
    webhook       TEXT     NOT NULL,
    delivery      TEXT     NOT NULL,
    dead          INTEGER  NOT NULL DEFAULT 0,
    through       BIGINT   NOT NULL,
    events        INTEGER  NOT NULL,
    first_event   BIGINT   NOT NULL,
    last_event    BIGINT   NOT NULL,
    body          BYTEA    NOT NULL,
    created       BIGINT   NOT NULL,
    attempts      INTEGER  NOT NULL DEFAULT 0,
    next_attempt  BIGINT   NOT NULL DEFAULT 0,
    updated       BIGINT   NOT NULL DEFAULT 0,
    last_error    TEXT     NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX webhook_batches_delivery ON webhook_batches (webhook, delivery);
CREATE UNIQUE INDEX webhook_batches_pending ON webhook_batches (webhook) WHERE dead = 0;

CREATE TABLE webhook_deliveries (
    id           BIGSERIAL PRIMARY KEY,
    webhook      TEXT     NOT NULL,
    at           BIGINT   NOT NULL,
    delivery     TEXT     NOT NULL,
    attempt      INTEGER  NOT NULL,
    events       INTEGER  NOT NULL,
    first_event  BIGINT   NOT NULL,
    last_event   BIGINT   NOT NULL,
    status       INTEGER,
    error        TEXT     NOT NULL,
    duration     BIGINT   NOT NULL,
    outcome      TEXT     NOT NULL
);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook, id);
