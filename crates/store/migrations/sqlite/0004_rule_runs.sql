-- Runs of named, versioned selection rules ("≥ 10 interactions across ≥ 2 agencies in 12
-- months"): which rule version, as of when, over which data version, who ran it, and the list
-- it produced, so any list can be shown again exactly as it was.
CREATE TABLE rule_runs (
    id           INTEGER PRIMARY KEY,
    at           TEXT NOT NULL,
    rule         TEXT NOT NULL,
    rule_version INTEGER NOT NULL,
    definition   TEXT NOT NULL,
    as_of        TEXT NOT NULL,
    data_version TEXT NOT NULL,
    actor        TEXT NOT NULL,
    persons      TEXT NOT NULL,  -- JSON array of person ids, rank order
    result       TEXT NOT NULL   -- JSON: the list with each person's qualification
);
CREATE INDEX rule_runs_by_rule ON rule_runs (rule, id);
