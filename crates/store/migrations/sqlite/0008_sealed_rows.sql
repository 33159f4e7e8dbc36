-- Source rows sealed at rest (see src/row_seal.rs). `sealed = 1`: `raw` holds the row's bytes
-- sealed, `identity_sealed` the identity's sealed fields, and the plain identity columns
-- (first_name .. ssn_last4, except sex, race, ethnicity and address_kind) are NULL. Rows
-- written by earlier builds (`sealed = 0`) are sealed by the next ingest.
ALTER TABLE source_records ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE source_records ADD COLUMN identity_sealed BLOB;
ALTER TABLE quarantine ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0;

-- The view shows what is in the clear; names and the rest are read through the store.
DROP VIEW identities;
CREATE VIEW identities AS
SELECT id AS record_id, source, agency, record_key, sex, race, ethnicity, address_kind,
       sealed, current, incident_ref
FROM source_records WHERE has_identity = 1;
