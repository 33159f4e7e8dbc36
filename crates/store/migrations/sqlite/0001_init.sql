-- Familiar's canonical store (SQLite). Invariants:
--  * source_records rows are never updated except `current`, which flips to 0 when a newer
--    version of the same (source, record_key) arrives; nothing is ever deleted.
--  * interactions and identities share the id of the source_record they were normalized from.
--  * every ingest run is one transaction: a killed run leaves no trace.

CREATE TABLE agencies (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT ''
);

CREATE TABLE ingest_runs (
    id          INTEGER PRIMARY KEY,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    config_path TEXT NOT NULL,
    config_sha256 TEXT NOT NULL,
    report      TEXT
);

CREATE TABLE source_files (
    id        INTEGER PRIMARY KEY,
    run_id    INTEGER NOT NULL REFERENCES ingest_runs(id),
    source    TEXT NOT NULL,
    path      TEXT NOT NULL,
    sha256    TEXT NOT NULL,
    bytes     INTEGER NOT NULL,
    rows_read INTEGER NOT NULL DEFAULT 0,
    accepted  INTEGER NOT NULL DEFAULT 0,
    rejected  INTEGER NOT NULL DEFAULT 0,
    duplicate INTEGER NOT NULL DEFAULT 0,
    -- How the raw bytes of this file's rows read back as column -> value: JSON of
    -- familiar_model::raw::RawLayout (format, delimiter, encoding, header). Written once the
    -- file has been read; the header is kept here once instead of in every row.
    layout    TEXT
);

-- One row per ingested source row: as received (`raw`: the row's bytes as read, which its
-- file's `source_files.layout` reads back as column -> value; the row's content hash is their
-- SHA-256, computed when needed rather than stored), and its normalized interaction and
-- identity side by side. One wide table because ingest writes a million rows a minute: one
-- insert per row instead of three. The views `interactions` and `identities` give the two
-- logical tables for SQL users.
CREATE TABLE source_records (
    id           INTEGER PRIMARY KEY,
    source       TEXT NOT NULL,
    record_key   TEXT NOT NULL,
    version      INTEGER NOT NULL,
    current      INTEGER NOT NULL,
    file_id      INTEGER NOT NULL,
    row_number   INTEGER NOT NULL,
    raw          BLOB NOT NULL,
    -- the interaction
    agency      TEXT NOT NULL,
    event_key   TEXT,           -- NULL when equal to record_key (the views fill it in)
    kind        TEXT NOT NULL,
    start_utc   INTEGER NOT NULL,
    local_date  TEXT NOT NULL,
    end_utc     INTEGER,
    location_key TEXT,
    location_raw TEXT,
    location_kind TEXT,
    call_type   TEXT,
    disposition TEXT,
    units       TEXT,
    role        TEXT NOT NULL,
    needs       INTEGER NOT NULL,
    transported INTEGER,
    part2       INTEGER NOT NULL,
    -- the identity (all NULL and has_identity = 0 when the row names nobody)
    has_identity INTEGER NOT NULL,
    first_name  TEXT,
    middle_name TEXT,
    last_name   TEXT,
    suffix      TEXT,
    aliases     TEXT,
    dob         TEXT,
    sex         TEXT,
    race        TEXT,
    ethnicity   TEXT,
    phone       TEXT,
    address_key TEXT,
    address_raw TEXT,
    address_kind TEXT,
    agency_person_id TEXT,
    ssn_last4   TEXT
);
-- (source, record_key, version) is unique by construction: ingest numbers versions from the
-- store's own view in the same transaction. No index: ingest reads each source's keys once,
-- by a scan, and the engine scans whole tables.

CREATE VIEW interactions AS
SELECT id AS record_id, agency, source, COALESCE(event_key, record_key) AS event_key, kind,
       start_utc, local_date, end_utc, location_key, location_raw, location_kind, call_type,
       disposition, units, role, needs, transported, part2, current
FROM source_records;

CREATE VIEW identities AS
SELECT id AS record_id, source, agency, record_key, first_name, middle_name, last_name, suffix,
       aliases, dob, sex, race, ethnicity, phone, address_key, address_raw, address_kind,
       agency_person_id, ssn_last4, current
FROM source_records WHERE has_identity = 1;

CREATE TABLE locations (
    key      TEXT PRIMARY KEY,
    number   TEXT,
    street   TEXT,
    city     TEXT,
    zip      TEXT,
    kind     TEXT NOT NULL,
    example  TEXT NOT NULL
);

CREATE TABLE quarantine (
    id         INTEGER PRIMARY KEY,
    run_id     INTEGER NOT NULL,
    file_id    INTEGER NOT NULL,
    source     TEXT NOT NULL,
    row_number INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    field      TEXT,
    reason     TEXT NOT NULL,
    raw        BLOB NOT NULL
);

-- Persons are produced by linkage. person_links maps each identity (by record id) to a person.
CREATE TABLE persons (
    id         TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'active'
);

CREATE TABLE person_links (
    record_id  INTEGER PRIMARY KEY,
    person_id  TEXT NOT NULL,
    method     TEXT NOT NULL,
    run_id     INTEGER NOT NULL
);
CREATE INDEX person_links_person ON person_links(person_id);

CREATE TABLE link_runs (
    id          INTEGER PRIMARY KEY,
    started_at  TEXT NOT NULL,
    method      TEXT NOT NULL,
    actor       TEXT NOT NULL,
    stats       TEXT
);

-- Merges, splits and new persons, with why and who: the history of every person id.
CREATE TABLE person_events (
    id         INTEGER PRIMARY KEY,
    run_id     INTEGER NOT NULL,
    at         TEXT NOT NULL,
    kind       TEXT NOT NULL,
    person_id  TEXT NOT NULL,
    detail     TEXT NOT NULL
);

-- Reviewer-grade decisions: they override the model on every later run.
CREATE TABLE link_decisions (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    kind        TEXT NOT NULL,  -- match | non_match | assign
    left_record INTEGER NOT NULL,
    right_record INTEGER,
    person_id   TEXT,
    reason      TEXT NOT NULL,
    active      INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX link_decisions_left ON link_decisions(left_record);

-- Pairs the model was unsure about, for a human to settle (replaced by every link run).
CREATE TABLE review_pairs (
    left_record  INTEGER NOT NULL,
    right_record INTEGER NOT NULL,
    match_weight REAL NOT NULL,
    match_probability REAL NOT NULL,
    run_id       INTEGER NOT NULL,
    PRIMARY KEY (left_record, right_record)
);
