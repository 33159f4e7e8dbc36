-- A person's page reads its history of ids (new / merge / split) by person id: without an
-- index that is a scan of every event ever written (one per person per linkage run).
CREATE INDEX person_events_by_person ON person_events (person_id, id);
