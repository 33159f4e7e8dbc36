//! Person linkage: comparators, blocking, Fellegi-Sunter with EM, clustering, stable ids. Pure and deterministic.
