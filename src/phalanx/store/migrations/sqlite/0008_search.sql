-- Free-text search (phalanx.analysis.text_terms, docs/dashboard.md): the terms each object version is found by,
-- written in the same transaction as the version, as the correlation keys are.
--
-- An FTS5 table whose rowid is versions.seq and whose one column holds the version's terms, each as 16 hex
-- digits (64 bits of a hash of the term): the store hashes terms itself, so no text a user typed
-- ever reaches FTS5's query language, and every backend tokenizes alike. detail=none keeps only which rows hold
-- a term (no positions: a search asks for whole terms), columnsize=0 no lengths (nothing is ranked): the index
-- stays small. Results are read newest first, in rowid order, which FTS5 walks without sorting.
-- Versions stored before this migration carry no terms: 'phalanx db reindex' computes them.
CREATE VIRTUAL TABLE search_terms USING fts5(terms, detail=none, columnsize=0, tokenize='ascii');
