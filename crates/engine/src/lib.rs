//! Measures over the canonical tables: key measures, ranked lists, places, series.
