-- Access control and the audit log (see `src/access.rs`). Invariants:
--  * passwords are stored only as Argon2id PHC strings; session tokens only as SHA-256 hashes.
--  * audit_log is append-only: the triggers below refuse UPDATE and DELETE, and every row carries
--    hash = SHA-256(prev_hash, its own canonical fields), so an edit made around the triggers
--    (raw file access, a dropped trigger) breaks the chain and `familiar audit verify` names the
--    first bad row. audit_head keeps the last id and hash so a truncated tail is detected too.

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL
                   CHECK (role IN ('admin', 'analyst', 'case_manager', 'agency_liaison', 'viewer')),
    totp_secret    TEXT NOT NULL,
    -- The last TOTP time step accepted: a code is never accepted twice.
    totp_last_step INTEGER NOT NULL DEFAULT 0,
    -- agency_liaison: the agency whose source records the user may see.
    agency         TEXT,
    disabled       INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);

-- case_manager: the persons (cohort) the user may see.
CREATE TABLE user_assignments (
    user_id   INTEGER NOT NULL REFERENCES users(id),
    person_id TEXT NOT NULL,
    PRIMARY KEY (user_id, person_id)
);

-- Failed logins by the user name typed (known or not), for the 5-in-15-minutes lockout.
CREATE TABLE login_failures (
    id       INTEGER PRIMARY KEY,
    username TEXT NOT NULL,
    at       INTEGER NOT NULL
);
CREATE INDEX login_failures_user ON login_failures(username, at);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    csrf       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    ip         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT NOT NULL,
    source    TEXT NOT NULL,
    outcome   TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX audit_log_actor ON audit_log(actor);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TABLE audit_head (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    last_id   INTEGER NOT NULL,
    last_hash TEXT NOT NULL
);
INSERT INTO audit_head (singleton, last_id, last_hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Public dashboard content an admin edits: "What have we been doing?" / "What's next?".
CREATE TABLE dashboard_items (
    id       INTEGER PRIMARY KEY,
    section  TEXT NOT NULL CHECK (section IN ('done', 'next')),
    position INTEGER NOT NULL,
    text     TEXT NOT NULL
);
INSERT INTO dashboard_items (section, position, text) VALUES
    ('done', 1, 'Develop year 1 plan'),
    ('done', 2, 'Build multi-agency team'),
    ('done', 3, 'Identified case management partner'),
    ('done', 4, 'Conduct research of familiar neighbor programs'),
    ('done', 5, 'Begin data work to identify familiar neighbors'),
    ('next', 1, 'Finalize insights from research of other familiar neighbor programs'),
    ('next', 2, 'Select 15 - 20 familiar neighbors'),
    ('next', 3, 'Solve barriers to sharing data'),
    ('next', 4, 'Understand neighbors'' journeys and needs'),
    ('next', 5, 'Develop person-specific strategies'),
    ('next', 6, 'Identify key measures'),
    ('next', 7, 'Quantify costs to systems'),
    ('next', 8, 'Meet monthly to track progress');

-- Small settings an admin edits (dashboard status, ...).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO settings (key, value) VALUES ('dashboard.status', 'in_progress');
