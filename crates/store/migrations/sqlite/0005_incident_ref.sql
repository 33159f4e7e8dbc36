-- The dispatch (CAD) incident number a row belongs to (`Fields::incident_ref`): rows of
-- different agencies with the same number come from the same 911 call. Linkage reads it from
-- the identities view; NULL for rows stored before this column existed or whose source has none.
ALTER TABLE source_records ADD COLUMN incident_ref TEXT;

DROP VIEW interactions;
CREATE VIEW interactions AS
SELECT id AS record_id, agency, source, COALESCE(event_key, record_key) AS event_key, kind,
       start_utc, local_date, end_utc, location_key, location_raw, location_kind, call_type,
       disposition, units, role, needs, transported, part2, current, incident_ref
FROM source_records;

DROP VIEW identities;
CREATE VIEW identities AS
SELECT id AS record_id, source, agency, record_key, first_name, middle_name, last_name, suffix,
       aliases, dob, sex, race, ethnicity, phone, address_key, address_raw, address_kind,
       agency_person_id, ssn_last4, current, incident_ref
FROM source_records WHERE has_identity = 1;
