-- Sightings (docs/sightings.md): one row per stored sighting version, written in the same transaction as the
-- version, so that the aggregates of the sightings of a list of objects are an indexed look-up per object,
-- never a scan of the versions.
--
-- vseq:       versions.seq of the sighting version (its id, version, level and revocation live there).
-- sighted:    its sighting_of_ref, the object it reports on.
-- org:        the organization that contributed it to this node (versions.contributor): who is counted,
--             whatever the object says (an anonymous sighting names nobody; the node still knows).
-- kind:       0 seen, 1 false positive, 2 expired (x_phalanx_kind; absent: seen).
-- count:      its count (absent: 1). A "seen" sighting with count 0 reports nothing and gets no row.
-- first_seen, last_seen: microseconds since the epoch; first_seen falls back to last_seen, then to the
--             sighting's created (and last_seen likewise), so that every row has both.
CREATE TABLE sightings (
    vseq       INTEGER PRIMARY KEY,
    sighted    TEXT    NOT NULL,
    org        TEXT    NOT NULL,
    kind       INTEGER NOT NULL,
    count      INTEGER NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL
);
CREATE INDEX sightings_sighted ON sightings (sighted);

-- The sightings stored before this migration, read from their JSON (what phalanx.service's to_row reads).
INSERT INTO sightings (vseq, sighted, org, kind, count, first_seen, last_seen)
SELECT seq, sighted, contributor, kind, n,
       coalesce(fs, ls, created, version), coalesce(ls, fs, created, version)
FROM (
    SELECT seq, contributor, created, version, sighted, n,
           CASE coalesce(k, 'seen') WHEN 'seen' THEN 0 WHEN 'false-positive' THEN 1 WHEN 'expired' THEN 2 END AS kind,
           CAST(strftime('%s', substr(f, 1, 19)) AS INTEGER) * 1000000
               + CASE WHEN substr(f, 20, 1) = '.'
                      THEN CAST(substr(substr(f, 21, length(f) - 21) || '000000', 1, 6) AS INTEGER) ELSE 0 END AS fs,
           CAST(strftime('%s', substr(l, 1, 19)) AS INTEGER) * 1000000
               + CASE WHEN substr(l, 20, 1) = '.'
                      THEN CAST(substr(substr(l, 21, length(l) - 21) || '000000', 1, 6) AS INTEGER) ELSE 0 END AS ls
    FROM (
        SELECT seq, contributor, created, version,
               json_extract(CAST(canonical AS TEXT), '$.sighting_of_ref') AS sighted,
               json_extract(CAST(canonical AS TEXT), '$.x_phalanx_kind') AS k,
               coalesce(json_extract(CAST(canonical AS TEXT), '$.count'), 1) AS n,
               json_extract(CAST(canonical AS TEXT), '$.first_seen') AS f,
               json_extract(CAST(canonical AS TEXT), '$.last_seen') AS l
        FROM versions WHERE type = 'sighting'
    )
)
WHERE typeof(sighted) = 'text' AND kind IS NOT NULL AND typeof(n) = 'integer' AND NOT (kind = 0 AND n = 0);
