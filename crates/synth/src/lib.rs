//! The synthetic county: agency exports in native shapes, sources.toml and truth files.
