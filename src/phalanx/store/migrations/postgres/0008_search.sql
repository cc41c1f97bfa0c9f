-- Free-text search (phalanx.analysis.text_terms, docs/dashboard.md): the terms each object version is found by,
-- written in the same transaction as the version, as the correlation keys are. Each term is kept as 64 bits of
-- a hash of it (the store hashes terms itself: no text a user typed reaches a query, and every backend
-- tokenizes alike).
--
-- search_postings: one row per (term, version): for each term, the versions carrying it, in seq order. A search
--                  reads its rarest term's rows backwards (newest first, no sorting) and probes the others by
--                  this key, as SQLite's FTS5 reads its doclists. (A GIN index cannot hand its matches over in
--                  order: a search for a term carried by many old versions had to sort them all, or scan the
--                  newer ones, in seconds at a million versions.)
-- search_docs:     each version's terms, to delete its postings with it (and replace them on a reindex).
--
-- Versions stored before this migration carry no terms: 'phalanx db reindex' computes them.
CREATE TABLE search_postings (
    term BIGINT NOT NULL,
    vseq BIGINT NOT NULL,
    PRIMARY KEY (term, vseq)
);
CREATE TABLE search_docs (
    vseq  BIGINT   PRIMARY KEY,
    terms BIGINT[] NOT NULL
);
