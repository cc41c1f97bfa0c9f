-- Federation (phalanx.federation): the peers this node follows, where it is with each, and what it refused.
--
-- peers.record is the peer's settings (JSON); cursors is JSON {the peer's collection id: its date_added of the
-- last change taken}; runner/lease_until is the lease of the one process following the peer.
-- peer_egress narrows what a peer's organization may read here (JSON arrays of collection ids and STIX types).

CREATE TABLE peers (
    name             TEXT    PRIMARY KEY,
    record           TEXT    NOT NULL,
    cursors          TEXT    NOT NULL DEFAULT '{}',
    checkpoint_size  BIGINT  NOT NULL DEFAULT 0,
    checkpoint_root  BYTEA    NOT NULL DEFAULT ''::bytea,
    received         BIGINT  NOT NULL DEFAULT 0,
    refused          BIGINT  NOT NULL DEFAULT 0,
    last_contact     BIGINT,
    last_error       TEXT    NOT NULL DEFAULT '',
    lag              BIGINT,
    runner           TEXT,
    lease_until      BIGINT  NOT NULL DEFAULT 0
);

CREATE TABLE peer_refusals (
    id        BIGSERIAL PRIMARY KEY,
    peer      TEXT    NOT NULL,
    at        BIGINT  NOT NULL,
    object_id TEXT,
    reason    TEXT    NOT NULL
);
CREATE INDEX peer_refusals_peer ON peer_refusals (peer, id);

CREATE TABLE peer_egress (
    org_id      TEXT PRIMARY KEY,
    collections TEXT NOT NULL,
    types       TEXT NOT NULL
);
