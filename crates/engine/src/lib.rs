//! Measures over the canonical tables: key measures (and, as they land, ranked lists, places,
//! journeys, series).
//!
//! Input is a [`Facts`] table: one row per person-involvement in an interaction, with strings
//! interned so counting is integer work. The counting rules are written once, in
//! `familiar_model::measures`; this crate implements them.

pub mod measures;

pub use measures::{key_measures, Facts, MeasureOptions};
