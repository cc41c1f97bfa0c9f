-- The transparency log (phalanx.ledger): RFC 9162 entries, the tree as C2SP-style tiles, signed checkpoints,
-- witness cosignatures, organizations' signing keys, and the logs this node witnesses.
--
-- ledger_entries.idx is the leaf index; object_key is id_key of the object's (or signing key's) id,
-- so the index that finds an object's entries stays narrow. data is the leaf: RFC 8785 JSON of the entry.
-- ledger_tiles.key is level << 48 | index; hashes holds the tile's nodes, level by level (see ledger/_tiles.py).
-- ledger_state.cursor is versions.seq of the last object version logged: the ledger follows the store.

CREATE TABLE ledger_entries (
    idx        INTEGER PRIMARY KEY,
    object_key INTEGER NOT NULL,
    data       BLOB    NOT NULL
);
CREATE INDEX ledger_entries_object ON ledger_entries (object_key) WHERE object_key <> 0;

CREATE TABLE ledger_tiles (
    key    INTEGER PRIMARY KEY,
    hashes BLOB    NOT NULL
);

CREATE TABLE ledger_state (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    size   INTEGER NOT NULL,
    cursor INTEGER NOT NULL
);
INSERT INTO ledger_state (id, size, cursor) VALUES (1, 0, 0);

CREATE TABLE ledger_checkpoints (
    size    INTEGER PRIMARY KEY,
    note    TEXT    NOT NULL,
    created INTEGER NOT NULL
);

CREATE TABLE ledger_latest (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    size INTEGER
);
INSERT INTO ledger_latest (id, size) VALUES (1, NULL);

CREATE TABLE ledger_cosignatures (
    size    INTEGER NOT NULL,
    witness TEXT    NOT NULL,
    line    TEXT    NOT NULL,
    PRIMARY KEY (size, witness)
);

CREATE TABLE signing_keys (
    key_id  TEXT PRIMARY KEY,
    org     TEXT NOT NULL,
    record  TEXT NOT NULL,
    private BLOB,
    seq     INTEGER NOT NULL
);
CREATE INDEX signing_keys_org ON signing_keys (org, seq);

CREATE TABLE node_keys (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    signer   TEXT NOT NULL,
    verifier TEXT NOT NULL
);

CREATE TABLE ledger_witnesses (
    name TEXT PRIMARY KEY,
    url  TEXT NOT NULL,
    vkey TEXT NOT NULL,
    size INTEGER NOT NULL
);

CREATE TABLE witnessed_logs (
    origin TEXT PRIMARY KEY,
    vkey   TEXT NOT NULL,
    size   INTEGER NOT NULL,
    root   BLOB NOT NULL,
    note   TEXT NOT NULL
);
