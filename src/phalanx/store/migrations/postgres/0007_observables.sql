-- Correlation keys (phalanx.analysis, docs/correlation.md): what each object version is found by, written in the
-- same transaction as the version. Columns as in the SQLite migration of the same number.
CREATE TABLE observables (
    vseq     BIGINT NOT NULL,
    key_hash BIGINT NOT NULL,
    key      TEXT   NOT NULL,
    PRIMARY KEY (vseq, key_hash)
);
CREATE INDEX observables_key ON observables (key_hash);
