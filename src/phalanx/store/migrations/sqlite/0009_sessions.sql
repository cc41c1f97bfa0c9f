-- Ended dashboard sessions (phalanx.web.ui, docs/dashboard.md "Signing in"): a session is a signed cookie kept by
-- the browser, so signing out records here that it has ended, and every process of the node refuses it after.
--
-- token: SHA-256 (hex) of the session's nonce (never the cookie itself).
-- until: microseconds since the epoch when the session would have expired anyway; after it the row is removed
--        (Directory.forget_ended_sessions, on each sign-out), so the table holds only sessions still alive.

CREATE TABLE ended_sessions (
    token  TEXT     PRIMARY KEY,
    until  INTEGER  NOT NULL
);
CREATE INDEX ended_sessions_until ON ended_sessions (until);
