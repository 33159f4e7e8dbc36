//! Low-level writers that know physical line numbers (for the bad-row truth).

pub mod csv;
pub mod jsonl;
