-- Correlation keys (phalanx.analysis, docs/correlation.md): what each object version is found by, written in the
-- same transaction as the version. A key is "kind:value" for an observable the version carries
-- (ipv4-addr:198.51.100.7, sha256:4bac...) or "ref:<id>" for an object it refers to.
--
-- vseq:      versions.seq of the version (its id, contributor, level and revocation live there).
-- key_hash:  64 bits of a hash of key: a narrow index, as versions.id_key; lookups compare the key too.
-- key:       the key itself.
--
-- The table is keyed by (vseq, key_hash), so it grows at its end during an import (vseq increases) and holds
-- what a version's keys are looked up by; only observables_key takes each row on a random page, and it is narrow
-- (key_hash and vseq). Two keys of one version with the same 64-bit hash keep one row (a lookup of the other
-- compares the key, and finds nothing). Versions stored before this migration carry no keys:
-- 'phalanx db reindex' computes them.
CREATE TABLE observables (
    vseq     INTEGER NOT NULL,
    key_hash INTEGER NOT NULL,
    key      TEXT    NOT NULL,
    PRIMARY KEY (vseq, key_hash)
) WITHOUT ROWID;
CREATE INDEX observables_key ON observables (key_hash);
