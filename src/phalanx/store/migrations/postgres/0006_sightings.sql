-- Sightings (docs/sightings.md): one row per stored sighting version, written in the same transaction as the
-- version, so that the aggregates of the sightings of a list of objects are an indexed look-up per object,
-- never a scan of the versions. Columns as in the SQLite migration of the same number.
CREATE TABLE sightings (
    vseq       BIGINT   PRIMARY KEY,
    sighted    TEXT     NOT NULL,
    org        TEXT     NOT NULL,
    kind       SMALLINT NOT NULL,
    count      BIGINT   NOT NULL,
    first_seen BIGINT   NOT NULL,
    last_seen  BIGINT   NOT NULL
);
CREATE INDEX sightings_sighted ON sightings (sighted);

-- The sightings stored before this migration, read from their JSON (what phalanx.service's to_row reads).
INSERT INTO sightings (vseq, sighted, org, kind, count, first_seen, last_seen)
SELECT seq, sighted, contributor, kind, n,
       coalesce(fs, ls, created, version), coalesce(ls, fs, created, version)
FROM (
    SELECT seq, contributor, created, version, j ->> 'sighting_of_ref' AS sighted,
           CASE coalesce(j ->> 'x_phalanx_kind', 'seen')
               WHEN 'seen' THEN 0 WHEN 'false-positive' THEN 1 WHEN 'expired' THEN 2 END AS kind,
           CASE WHEN j -> 'count' IS NULL THEN 1
                WHEN jsonb_typeof(j -> 'count') = 'number' THEN (j ->> 'count')::numeric END AS n,
           floor(extract(epoch FROM (j ->> 'first_seen')::timestamptz) * 1000000)::bigint AS fs,
           floor(extract(epoch FROM (j ->> 'last_seen')::timestamptz) * 1000000)::bigint AS ls
    FROM (SELECT seq, contributor, created, version, convert_from(canonical, 'UTF8')::jsonb AS j
          FROM versions WHERE type = 'sighting') v
) s
WHERE sighted IS NOT NULL AND kind IS NOT NULL AND n IS NOT NULL AND n = trunc(n) AND n >= 0
  AND n <= 999999999 AND NOT (kind = 0 AND n = 0);
