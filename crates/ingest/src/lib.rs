//! Readers for agency exports (CSV in any encoding, XLSX, JSON lines), the mapping config, field parsers and quarantine reasons.
