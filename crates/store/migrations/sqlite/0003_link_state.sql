-- Link state for incremental linking (`familiar link --incremental`).
--  * model: the trained linkage model of a model run (JSON: the spec it was trained for, λ, and
--    every comparison level's m, u and weight), so a later run can score a new batch without
--    retraining. NULL for runs that trained nothing (import, deterministic, incremental).
--  * mode: how the run linked: `full` (every identity) or `incremental` (a new batch and the
--    persons it reaches; every other link left as it was).
--  * decisions_through: the newest reviewer decision the run applied; decisions after it are
--    new to the next run.
ALTER TABLE link_runs ADD COLUMN model TEXT;
ALTER TABLE link_runs ADD COLUMN mode TEXT NOT NULL DEFAULT 'full';
ALTER TABLE link_runs ADD COLUMN decisions_through INTEGER;
