//! The Store trait and its SQLite implementation: migrations, batches, quarantine, persons.
