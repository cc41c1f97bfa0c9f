-- Phalanx object store and directory, PostgreSQL.
-- Same shape as the SQLite schema. date_added comes from the one-row "clock" table: a writer locks its row
-- first (SELECT ... FOR UPDATE) and holds the lock until commit, so writers commit in date_added order and
-- a reader can never see a larger date_added before a smaller one becomes visible.

CREATE TABLE versions (
    seq            BIGINT PRIMARY KEY,
    id             TEXT    NOT NULL,
    version        BIGINT  NOT NULL,
    type           TEXT    NOT NULL,
    spec_version   TEXT    NOT NULL,
    created        BIGINT,
    revoked        SMALLINT NOT NULL,
    canonical      BYTEA   NOT NULL,
    digest         TEXT    NOT NULL,
    marking_refs   TEXT    NOT NULL,
    created_by_ref TEXT,
    contributor    TEXT    NOT NULL,
    is_first       SMALLINT NOT NULL,
    is_last        SMALLINT NOT NULL
);
CREATE UNIQUE INDEX versions_id_version ON versions (id, version);
CREATE INDEX versions_type ON versions (type, seq);

CREATE TABLE memberships (
    date_added   BIGINT PRIMARY KEY,
    collection   TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    version      BIGINT  NOT NULL,
    vseq         BIGINT  NOT NULL,
    type         TEXT    NOT NULL,
    spec_version TEXT    NOT NULL,
    is_first     SMALLINT NOT NULL,
    is_last      SMALLINT NOT NULL
);
CREATE UNIQUE INDEX memberships_key ON memberships (collection, id, version);
CREATE INDEX memberships_added ON memberships (collection, date_added);
CREATE INDEX memberships_type ON memberships (collection, type, date_added);
-- The default query asks for the latest version of each id: these partial indexes hold only those rows.
CREATE INDEX memberships_last ON memberships (collection, date_added) WHERE is_last = 1;
CREATE INDEX memberships_last_type ON memberships (collection, type, date_added) WHERE is_last = 1;

CREATE TABLE revoked (
    id      TEXT PRIMARY KEY,
    version BIGINT  NOT NULL
);

CREATE TABLE clock (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    last BIGINT  NOT NULL
);
INSERT INTO clock (id, last) VALUES (1, 0);

CREATE TABLE organizations (
    id       TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    sectors  TEXT NOT NULL,
    created  BIGINT  NOT NULL
);

CREATE TABLE communities (
    name    TEXT PRIMARY KEY,
    title   TEXT NOT NULL,
    created BIGINT  NOT NULL
);

CREATE TABLE community_members (
    community TEXT NOT NULL,
    org_id    TEXT NOT NULL,
    PRIMARY KEY (community, org_id)
);
CREATE INDEX community_members_org ON community_members (org_id, community);

CREATE TABLE collections (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    community   TEXT NOT NULL,
    created     BIGINT  NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL,
    username      TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL,
    created       BIGINT  NOT NULL,
    password_hash TEXT
);
CREATE INDEX users_org ON users (org_id);

CREATE TABLE api_keys (
    key_id      TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL,
    role        TEXT NOT NULL,
    label       TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created     BIGINT  NOT NULL,
    expires     BIGINT,
    revoked     BIGINT,
    user_id     TEXT
);
CREATE INDEX api_keys_org ON api_keys (org_id);
