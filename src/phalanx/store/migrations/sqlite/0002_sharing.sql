-- Sharing levels and scopes (the TLP 2.0 policy), public and filtered collections, TAXII status resources.
--
-- versions.level: the sharing level phalanx.policy gave the version when it was first stored (0 CLEAR,
-- 1 GREEN, 2 AMBER, 3 AMBER+STRICT, 4 RED): its TLP marking, the hub's default_tlp when it had none, raised
-- when a granular marking on a property the object cannot lose is more restrictive.
-- versions.top_level: the most restrictive level of any of its parts (granular markings included): how far the
-- whole version may be passed on.
-- memberships.scope: the principals the sharer narrowed this membership to (scopes.key); NULL: not narrowed.
-- memberships.sharer: the organization that put the version into the collection, when it is not the version's
-- contributor (it passed the version on); NULL: the contributor.

ALTER TABLE versions ADD COLUMN level INTEGER NOT NULL DEFAULT 4;
ALTER TABLE versions ADD COLUMN top_level INTEGER NOT NULL DEFAULT 4;  -- the most restrictive level of any part
-- Versions stored before this migration get the level of the most restrictive TLP marking they carry (their
-- marking_refs held granular markings too: counting those for the whole object keeps them as hidden as
-- before), and unmarked ones AMBER, the default default_tlp.
UPDATE versions SET level = CASE
    WHEN marking_refs LIKE '%"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"%' OR marking_refs LIKE '%"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"%' THEN 4
    WHEN marking_refs LIKE '%"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"%' THEN 3
    WHEN marking_refs LIKE '%"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"%' OR marking_refs LIKE '%"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"%' THEN 2
    WHEN marking_refs LIKE '%"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"%' OR marking_refs LIKE '%"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"%' THEN 1
    WHEN marking_refs LIKE '%"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"%' OR marking_refs LIKE '%"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"%' THEN 0
    ELSE 2
END;
UPDATE versions SET top_level = level;

ALTER TABLE memberships ADD COLUMN scope INTEGER;
ALTER TABLE memberships ADD COLUMN sharer TEXT;

CREATE TABLE scopes (
    key        INTEGER PRIMARY KEY,
    principals TEXT    NOT NULL UNIQUE  -- a sorted JSON array
);
CREATE TABLE scope_principals (
    principal TEXT    NOT NULL,
    scope     INTEGER NOT NULL,
    PRIMARY KEY (principal, scope)
) WITHOUT ROWID;

ALTER TABLE collections ADD COLUMN public INTEGER NOT NULL DEFAULT 0;
ALTER TABLE collections ADD COLUMN types TEXT NOT NULL DEFAULT '';  -- JSON array of the types it takes; '': any

-- TAXII status resources: one per POST of objects, and one entry per object posted.
CREATE TABLE statuses (
    id         TEXT    PRIMARY KEY,
    owner      TEXT    NOT NULL,  -- the organization that posted
    collection TEXT    NOT NULL,
    created    INTEGER NOT NULL,
    updated    INTEGER NOT NULL
);
CREATE INDEX statuses_created ON statuses (created);  -- pruning by age
CREATE TABLE status_entries (
    status    TEXT    NOT NULL,
    position  INTEGER NOT NULL,
    object_id TEXT    NOT NULL,
    version   TEXT    NOT NULL,
    outcome   INTEGER NOT NULL,  -- 0 success, 1 failure, 2 pending
    message   TEXT    NOT NULL,
    PRIMARY KEY (status, position)
) WITHOUT ROWID;
