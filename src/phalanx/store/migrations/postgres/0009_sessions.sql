-- Ended dashboard sessions (phalanx.web.ui, docs/dashboard.md "Signing in"): a session is a signed cookie kept by
-- the browser, so signing out records here that it has ended, and every process of the node refuses it after.
-- Columns as in the SQLite migration of the same number.

CREATE TABLE ended_sessions (
    token  TEXT     PRIMARY KEY,
    until  BIGINT   NOT NULL
);
CREATE INDEX ended_sessions_until ON ended_sessions (until);
