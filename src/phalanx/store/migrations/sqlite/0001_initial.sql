-- Phalanx object store and directory, SQLite.
-- versions.seq and memberships.date_added are INTEGER PRIMARY KEY: the rowid itself, so paging in
-- date_added order walks the table b-tree, and the version behind a membership is one rowid lookup away.
--
-- Object ids are random (UUIDs), so an index keyed by id takes each new row on a random page, and every
-- such page is written again at each commit. Only versions_id_key is keyed by id (by 64 bits of its hash,
-- to keep that index narrow; lookups compare the id too): a membership names its
-- version by seq and its collection by a small integer (collection_keys), so every index on memberships
-- grows at its end during an import.

CREATE TABLE versions (
    seq            INTEGER PRIMARY KEY,
    id             TEXT    NOT NULL,
    id_key         INTEGER NOT NULL,  -- 64 bits of a hash of id: a narrow, fast index; ids are compared too
    version        INTEGER NOT NULL,
    type           TEXT    NOT NULL,
    spec_version   TEXT    NOT NULL,
    created        INTEGER,
    revoked        INTEGER NOT NULL,
    canonical      BLOB    NOT NULL,
    digest         TEXT    NOT NULL,
    marking_refs   TEXT    NOT NULL,
    created_by_ref TEXT,
    contributor    TEXT    NOT NULL,
    is_first       INTEGER NOT NULL,
    is_last        INTEGER NOT NULL
);
CREATE INDEX versions_id_key ON versions (id_key, version);
CREATE INDEX versions_type ON versions (type, seq);

-- The store's own key for each collection id it has seen (the directory's "collections" table is separate:
-- the store takes any collection id).
CREATE TABLE collection_keys (
    key INTEGER PRIMARY KEY,
    id  TEXT    NOT NULL UNIQUE
);

CREATE TABLE memberships (
    date_added   INTEGER PRIMARY KEY,
    collection   INTEGER NOT NULL,  -- collection_keys.key
    vseq         INTEGER NOT NULL,  -- versions.seq: the version's id, version and the rest live there
    type         TEXT    NOT NULL,  -- copied from the version, for the type indexes
    is_first     INTEGER NOT NULL,
    is_last      INTEGER NOT NULL
);
CREATE UNIQUE INDEX memberships_key ON memberships (vseq, collection);
CREATE INDEX memberships_added ON memberships (collection, date_added);
CREATE INDEX memberships_type ON memberships (collection, type, date_added);
-- The default query asks for the latest version of each id: these partial indexes hold only those rows.
CREATE INDEX memberships_last ON memberships (collection, date_added) WHERE is_last = 1;
CREATE INDEX memberships_last_type ON memberships (collection, type, date_added) WHERE is_last = 1;

CREATE TABLE revoked (
    id      TEXT PRIMARY KEY,
    version INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE organizations (
    id       TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    sectors  TEXT NOT NULL,
    created  INTEGER NOT NULL
);

CREATE TABLE communities (
    name    TEXT PRIMARY KEY,
    title   TEXT NOT NULL,
    created INTEGER NOT NULL
);

CREATE TABLE community_members (
    community TEXT NOT NULL,
    org_id    TEXT NOT NULL,
    PRIMARY KEY (community, org_id)
) WITHOUT ROWID;
CREATE INDEX community_members_org ON community_members (org_id, community);

CREATE TABLE collections (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    community   TEXT NOT NULL,
    created     INTEGER NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL,
    username      TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL,
    created       INTEGER NOT NULL,
    password_hash TEXT
);
CREATE INDEX users_org ON users (org_id);

CREATE TABLE api_keys (
    key_id      TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL,
    role        TEXT NOT NULL,
    label       TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created     INTEGER NOT NULL,
    expires     INTEGER,
    revoked     INTEGER,
    user_id     TEXT
);
CREATE INDEX api_keys_org ON api_keys (org_id);
